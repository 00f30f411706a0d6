//! The test tree is what the five test binaries compile. With `autotests = false` a file
//! under tests/ that no root reaches is compiled nowhere and its tests never run, silently:
//! these checks name any such file.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The `.rs` files directly in `dir`, by name.
fn rust_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "rs"))
        .map(|p| p.file_name().expect("a file name").to_string_lossy().into_owned())
        .collect()
}

/// The test directories: those holding a `main.rs` (a crate of its own below, such as a
/// fixture generator with its Cargo.toml, is not one).
fn test_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(tests_dir())
        .expect("list tests/")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("main.rs").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn every_root_file_is_a_test_target() {
    let manifest = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
    for root in rust_files(&tests_dir()) {
        assert!(
            manifest.contains(&format!("path = \"tests/{root}\"")),
            "tests/{root} is not a [[test]] target in Cargo.toml: it is compiled nowhere"
        );
    }
}

#[test]
fn every_test_directory_is_reached_from_exactly_one_root() {
    let roots: Vec<(String, String)> = rust_files(&tests_dir())
        .into_iter()
        .map(|root| {
            let text = read(&tests_dir().join(&root));
            (root, text)
        })
        .collect();
    for dir in test_dirs() {
        let name = dir.file_name().expect("a name").to_string_lossy().into_owned();
        let include = format!("#[path = \"{name}/main.rs\"]");
        let including: Vec<&str> = roots
            .iter()
            .filter(|(_, text)| text.contains(&include))
            .map(|(root, _)| root.as_str())
            .collect();
        assert_eq!(
            including.len(),
            1,
            "tests/{name}/ must be included by exactly one root, found {including:?}"
        );
    }
}

#[test]
fn every_file_of_a_test_directory_is_a_module() {
    for dir in test_dirs() {
        let files = rust_files(&dir);
        let texts: String = files.iter().map(|f| read(&dir.join(f))).collect();
        for file in files.iter().filter(|f| *f != "main.rs") {
            let stem = file.trim_end_matches(".rs");
            let declared = [
                format!("mod {stem};"),
                format!("mod {stem} {{"),
                format!("\"{file}\"]"),
            ]
            .iter()
            .any(|form| texts.contains(form.as_str()));
            assert!(
                declared,
                "{}/{file} is declared by no module of its directory: it is compiled nowhere",
                dir.display()
            );
        }
    }
}

#[test]
fn every_support_file_is_used() {
    let mut everything = String::new();
    for dir in test_dirs() {
        for file in rust_files(&dir) {
            everything.push_str(&read(&dir.join(file)));
        }
    }
    for file in rust_files(&tests_dir().join("support")) {
        assert!(
            everything.contains(&format!("\"../support/{file}\"]")),
            "tests/support/{file} is included by no test directory"
        );
    }
}
