//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and any local crash artifacts
//! (`fuzz/artifacts/<target>/`) through the same entry points the fuzz targets call, on stable:
//! none may panic. Every target in `fuzz/fuzz_targets/` must have a non-empty corpus and an
//! entry in [`ENTRY_POINTS`], so a new target cannot go unreplayed.

use std::path::{Path, PathBuf};

use wamp_proto::fuzzing;

/// A fuzz entry point: arbitrary bytes in, a panic on a bug.
type EntryPoint = fn(&[u8]);

/// Fuzz target name -> the entry point its `fuzz_target!` calls.
const ENTRY_POINTS: &[(&str, EntryPoint)] = &[
    ("decode_json", fuzzing::fuzz_decode_json),
    ("decode_msgpack", fuzzing::fuzz_decode_msgpack),
    ("decode_cbor", fuzzing::fuzz_decode_cbor),
    ("decode_ubjson", fuzzing::fuzz_decode_ubjson),
    ("rawsocket_framer", fuzzing::fuzz_rawsocket_framer),
    ("link", fuzzing::fuzz_link),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// File names (without `.rs`) in a directory, sorted.
fn names(dir: &Path, ext: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| match ext {
            Some(ext) => p.extension().is_some_and(|e| e == ext),
            None => true,
        })
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {dir:?}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_target_has_a_replayed_corpus() {
    let fuzz = fuzz_dir();
    let targets = names(&fuzz.join("fuzz_targets"), Some("rs"));
    let mut known: Vec<String> = ENTRY_POINTS.iter().map(|(t, _)| t.to_string()).collect();
    known.sort();
    assert_eq!(
        targets, known,
        "fuzz targets and ENTRY_POINTS differ: give every target an entry point here"
    );
    let corpora = names(&fuzz.join("corpus"), None);
    assert_eq!(
        corpora, known,
        "every target needs a committed corpus, and only targets"
    );
}

#[test]
fn corpus_and_artifacts_replay_without_panic() {
    let fuzz = fuzz_dir();
    let mut summary = Vec::new();
    for (target, entry) in ENTRY_POINTS {
        let corpus = files(&fuzz.join("corpus").join(target));
        assert!(!corpus.is_empty(), "{target}: empty corpus");
        let artifacts_dir = fuzz.join("artifacts").join(target);
        let artifacts = if artifacts_dir.is_dir() {
            files(&artifacts_dir)
        } else {
            Vec::new()
        };
        for path in corpus.iter().chain(&artifacts) {
            let data = std::fs::read(path).unwrap();
            let r = std::panic::catch_unwind(|| entry(&data));
            assert!(r.is_ok(), "{target} panics on {path:?}");
        }
        summary.push(format!(
            "{target}: {} corpus + {} artifacts",
            corpus.len(),
            artifacts.len()
        ));
    }
    eprintln!("fuzz corpus replayed: {}", summary.join(", "));
}

/// The official vectors' bytes are valid inputs: they go through the entry points too (which
/// then also check that the messages round-trip and transcode).
#[test]
fn vector_bytes_replay_without_panic() {
    let mut n = 0;
    for (target, entry) in ENTRY_POINTS {
        let Some(key) = target.strip_prefix("decode_") else {
            continue;
        };
        let variants = crate::vectors::serialized_variants(key);
        assert!(!variants.is_empty(), "no vector bytes for {key}");
        for (file, index, bytes) in variants {
            let r = std::panic::catch_unwind(|| entry(&bytes));
            assert!(r.is_ok(), "{target} panics on {file} sample {index}");
            n += 1;
        }
    }
    eprintln!("vector byte variants replayed through the fuzz entry points: {n}");
}
