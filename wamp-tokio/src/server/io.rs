//! Byte streams under a connection: TCP or Unix, optionally TLS, with the first octet read
//! ahead (to tell RawSocket from WebSocket) and replayed.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// A stream whose first octet was read ahead and is returned again by the first read.
#[derive(Debug)]
pub(crate) struct Prefixed<S> {
    first: Option<u8>,
    inner: S,
}

impl<S: AsyncRead + Unpin> Prefixed<S> {
    /// Reads the first octet of `inner` (`None`: the peer closed before sending anything).
    pub(crate) async fn read_first(mut inner: S) -> io::Result<Option<(u8, Prefixed<S>)>> {
        let mut b = [0u8; 1];
        let n = inner.read(&mut b).await?;
        if n == 0 {
            return Ok(None);
        }
        Ok(Some((
            b[0],
            Prefixed {
                first: Some(b[0]),
                inner,
            },
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(b) = this.first {
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            buf.put_slice(&[b]);
            this.first = None;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn first_octet_is_replayed() {
        let data: &[u8] = b"\x7fabc";
        let (first, mut s) = Prefixed::read_first(data).await.unwrap().unwrap();
        assert_eq!(first, 0x7f);
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"\x7fabc");
        let empty: &[u8] = b"";
        assert!(Prefixed::read_first(empty).await.unwrap().is_none());
    }
}
