//! The package metadata in Cargo.toml, the systemd unit and the maintainer scripts agree with
//! each other and with the program: files exist, paths match, the unit is hardened.

use std::collections::BTreeMap;
use std::path::Path;

use robustmq::config::Settings;
use robustmq::exit::Exit;

use super::{read, repo, repo_file};

fn manifest() -> toml::Table {
    read("Cargo.toml").parse().expect("Cargo.toml parses")
}

fn metadata(tool: &str) -> toml::Table {
    let manifest = manifest();
    manifest["package"]["metadata"][tool].as_table().cloned().unwrap()
}

/// Whether a non-built asset source exists; `*` matches within one file name.
fn source_exists(source: &str) -> bool {
    let Some((prefix, suffix)) = source.split_once('*') else {
        return repo_file(source).is_file();
    };
    let (dir, name_prefix) = prefix.rsplit_once('/').unwrap_or((".", prefix));
    std::fs::read_dir(repo_file(dir)).is_ok_and(|entries| {
        entries.map_while(Result::ok).any(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(name_prefix) && name.ends_with(suffix)
        })
    })
}

/// cargo-deb's `[source, dest, mode]` assets as (source, dest).
fn deb_assets() -> Vec<(String, String)> {
    metadata("deb")["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|asset| {
            let asset = asset.as_array().unwrap();
            (
                asset[0].as_str().unwrap().to_owned(),
                asset[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn deb_assets_exist_and_install_to_the_standard_places() {
    let assets = deb_assets();
    for (source, dest) in &assets {
        if !source.starts_with("target/") {
            assert!(
                source_exists(source),
                "deb asset {source} (for {dest}) does not exist"
            );
        }
    }
    let dests: Vec<&str> = assets.iter().map(|(_, dest)| dest.as_str()).collect();
    for expected in [
        "usr/bin/",
        "etc/robustmq/robustmq.toml",
        "usr/share/man/man1/",
        "usr/share/man/man5/",
        "usr/share/bash-completion/completions/robustmq",
        "usr/share/zsh/vendor-completions/_robustmq",
        "usr/share/fish/vendor_completions.d/robustmq.fish",
        "usr/share/doc/robustmq/copyright",
    ] {
        assert!(
            dests.contains(&expected),
            "no deb asset installs {expected}: {dests:?}"
        );
    }
    let binary = assets.iter().find(|(_, dest)| dest == "usr/bin/").unwrap();
    assert_eq!(binary.0, "target/release/robustmq");
}

#[test]
fn deb_systemd_units_and_scripts_are_found_where_cargo_deb_looks() {
    let deb = metadata("deb");
    let units = deb["systemd-units"].as_table().unwrap();
    let dir = units["unit-scripts"].as_str().unwrap();
    let name = units["unit-name"].as_str().unwrap();
    assert!(repo_file(dir).join(format!("{name}.service")).is_file());
    assert!(repo_file(dir).join(format!("{name}.sysusers")).is_file());
    // lintian wants a changelog (the copyright file is an asset, checked above).
    assert!(repo_file(deb["changelog"].as_str().unwrap()).is_file());

    // cargo-deb inserts its generated snippets at #DEBHELPER#; a script without it would lose
    // the enabling and starting of the service.
    let scripts = repo_file(deb["maintainer-scripts"].as_str().unwrap());
    let mut found = 0;
    for name in ["preinst", "postinst", "prerm", "postrm"] {
        let path = scripts.join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            found += 1;
            assert!(
                text.contains("#DEBHELPER#"),
                "{} lacks #DEBHELPER#",
                path.display()
            );
            assert!(text.starts_with("#!/bin/sh\n"), "{}", path.display());
            assert!(text.contains("\nset -e\n"), "{}", path.display());
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o111, 0o111, "{} is not executable", path.display());
        }
    }
    assert!(found > 0, "no maintainer scripts in {}", scripts.display());
}

#[test]
fn the_debian_changelog_names_this_version() {
    let changelog = read(metadata("deb")["changelog"].as_str().unwrap());
    let first = changelog.lines().next().unwrap();
    let expected = format!("robustmq ({}-1) ", env!("CARGO_PKG_VERSION"));
    assert!(
        first.starts_with(&expected),
        "packaging/debian/changelog starts with {first:?}; add an entry for {expected}"
    );
}

#[test]
fn rpm_assets_exist_and_the_config_is_kept_on_upgrade() {
    let rpm = metadata("generate-rpm");
    let assets = rpm["assets"].as_array().unwrap();
    let mut dests = Vec::new();
    for asset in assets {
        let source = asset["source"].as_str().unwrap();
        let dest = asset["dest"].as_str().unwrap();
        // target/ holds the binary and the gzipped pages that packaging/build.sh makes.
        if !source.starts_with("target/") {
            assert!(source_exists(source), "rpm asset {source} does not exist");
        }
        if dest.starts_with("/etc/") {
            assert_eq!(
                asset.get("config").and_then(|c| c.as_str()),
                Some("noreplace"),
                "{dest}"
            );
        }
        dests.push(dest);
    }
    for expected in [
        "/usr/bin/robustmq",
        "/etc/robustmq/robustmq.toml",
        "/usr/lib/systemd/system/robustmq.service",
        "/usr/lib/sysusers.d/robustmq.conf",
        "/usr/share/man/man1/",
        "/usr/share/man/man5/",
    ] {
        assert!(
            dests.contains(&expected),
            "no rpm asset installs {expected}: {dests:?}"
        );
    }
    for key in [
        "pre_install_script",
        "post_install_script",
        "pre_uninstall_script",
        "post_uninstall_script",
    ] {
        let script = rpm[key].as_str().unwrap();
        assert!(repo_file(script).is_file(), "{key} = {script} does not exist");
    }
}

/// `Key=value` settings of a unit file; a key given more than once keeps every value.
fn unit_settings(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut settings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') || line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a setting: {line}"));
        settings.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    settings
}

#[test]
fn the_unit_runs_the_installed_binary_hardened_with_the_packaged_config() {
    let unit = unit_settings(&read("packaging/robustmq.service"));
    let one = |key: &str| -> &str {
        match unit.get(key).map(Vec::as_slice) {
            Some([value]) => value,
            other => panic!("{key}: expected one value, found {other:?}"),
        }
    };
    assert_eq!(one("Type"), "notify");
    assert_eq!(
        one("ExecStart"),
        "/usr/bin/robustmq serve --config /etc/robustmq/robustmq.toml"
    );
    assert_eq!(one("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one("Restart"), "on-failure");
    for (key, value) in [
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(key), value, "{key}");
    }
    let no_restart: Vec<&str> = one("RestartPreventExitStatus").split_whitespace().collect();
    // A configuration that cannot be used (2) or a data directory that cannot be (4).
    for code in [Exit::Usage.code(), Exit::DataUnusable.code()] {
        assert!(
            no_restart.contains(&code.to_string().as_str()),
            "restarting cannot fix exit {code}"
        );
    }

    // The user is the one sysusers.d creates, and the state directory is the data_dir of
    // the packaged configuration (ProtectSystem=strict leaves nothing else writable).
    let user = one("User");
    let sysusers = read("packaging/robustmq.sysusers");
    assert!(
        sysusers.lines().any(|l| l.starts_with(&format!("u {user} "))),
        "packaging/robustmq.sysusers does not create {user}"
    );
    let settings = Settings::from_file(&repo_file("packaging/robustmq.toml")).unwrap();
    assert_eq!(
        settings.server.data_dir,
        Path::new("/var/lib").join(one("StateDirectory"))
    );

    // Where the packages put the binary and the configuration.
    let deb = deb_assets();
    assert!(deb.iter().any(|(_, dest)| dest == "usr/bin/"));
    assert!(deb
        .iter()
        .any(|(source, dest)| source == "packaging/robustmq.toml" && dest == "etc/robustmq/robustmq.toml"));
    assert!(repo().join("packaging/robustmq.toml").is_file());
}
