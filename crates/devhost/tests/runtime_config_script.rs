//! `scripts/runtime-config` resolves every application variable the way devhost (and Spin) do, so that the
//! static provider it writes changes where Spin finds a value, never the value. Run with each `awk` this
//! machine has: the app image's Debian has mawk, this machine's default is gawk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use devhost::manifest::{App, ManifestError};
use devhost::runtime_config::StoreConfig;
use devhost::RuntimeConfig;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A scratch directory of this test's own.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("devhost-runtime-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Directories whose `awk` is each awk installed here, for PATH.
fn awks() -> Vec<PathBuf> {
    let found: Vec<PathBuf> = ["gawk", "mawk", "original-awk"]
        .into_iter()
        .filter_map(|name| {
            let binary = Path::new("/usr/bin").join(name);
            binary.exists().then(|| {
                let dir = scratch(&format!("awk-{name}"));
                let link = dir.join("awk");
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&binary, &link).unwrap();
                dir
            })
        })
        .collect();
    assert!(!found.is_empty(), "no awk to run scripts/runtime-config with");
    found
}

/// Runs the script with exactly `env` (and PATH), on `manifest` or spin.toml.
fn run(awk_dir: &Path, env: &[(&str, &str)], manifest: Option<&Path>) -> Output {
    let mut command = Command::new("sh");
    command.arg(root().join("scripts/runtime-config"));
    if let Some(manifest) = manifest {
        command.arg(manifest);
    }
    command
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", awk_dir.display()))
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn parse(output: &Output) -> RuntimeConfig {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    RuntimeConfig::parse(std::str::from_utf8(&output.stdout).unwrap()).unwrap()
}

const PEM: &str = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";

#[test]
fn every_variable_resolves_as_devhost_resolves_it() {
    let manifest = std::fs::read_to_string(root().join("spin.toml")).unwrap();
    let env = [
        ("SPIN_VARIABLE_JWT_PUBLIC_KEY", PEM),
        ("SPIN_VARIABLE_JWT_PRIVATE_KEY", "private\r\nkey\twith \"quotes\" and \\ backslashes"),
        ("SPIN_VARIABLE_BRIDGE_TOKEN", "token#not-a-comment"),
        ("SPIN_VARIABLE_REDIS_URL", "redis://:p\"a\\ss@cache.internal:6380/2"),
        ("SPIN_VARIABLE_LOG_LEVEL", ""),
        ("SPIN_VARIABLE_NOT_DECLARED", "ignored"),
    ];
    for awk in awks() {
        let config = parse(&run(&awk, &env, None));
        let redis_url = env[3].1.to_owned();
        assert_eq!(config.store("default"), Some(StoreConfig::Redis { url: redis_url.clone() }), "{awk:?}");
        let provided = config.variables();
        assert_eq!(provided.get("redis_url"), Some(&redis_url));
        assert_eq!(provided.get("log_level").map(String::as_str), Some(""), "set but empty still wins");
        assert_eq!(provided.get("cache_prefix").map(String::as_str), Some("pc:catalog:"), "the default");
        assert!(!provided.contains_key("not_declared"));

        let lookup: HashMap<String, String> = env
            .iter()
            .filter_map(|(name, value)| {
                Some((name.strip_prefix("SPIN_VARIABLE_")?.to_ascii_lowercase(), value.to_string()))
            })
            .collect();
        let by_devhost = App::parse(&manifest, &HashMap::new(), |name| lookup.get(name).cloned()).unwrap();
        let by_script = App::parse(&manifest, &HashMap::new(), |name| provided.get(name).cloned()).unwrap();
        assert_eq!(by_script.variables, by_devhost.variables, "{awk:?}");
        // Nothing rests on the environment any more: every declared variable is in the file.
        let declared = manifest.lines().skip_while(|line| *line != "[variables]").skip(1);
        let declared = declared.take_while(|line| !line.starts_with('[')).filter(|line| line.contains(" = {"));
        assert_eq!(declared.count(), provided.len(), "{awk:?}");
    }
}

#[test]
fn a_required_variable_without_a_value_is_left_out_so_spin_still_refuses_to_start() {
    let manifest = std::fs::read_to_string(root().join("spin.toml")).unwrap();
    for awk in awks() {
        let config = parse(&run(&awk, &[("SPIN_VARIABLE_JWT_PUBLIC_KEY", PEM)], None));
        assert!(!config.variables().contains_key("bridge_token"), "{awk:?}");
        assert_eq!(config.store("default"), Some(StoreConfig::Redis { url: "redis://127.0.0.1:6379".into() }));
        let by_script = App::parse(&manifest, &HashMap::new(), |name| config.variables().get(name).cloned());
        assert!(matches!(by_script, Err(ManifestError::MissingVariable(_))), "{awk:?}");
    }
}

#[test]
fn a_control_character_or_an_unreadable_manifest_line_stops_it() {
    let dir = scratch("bad");
    let multiline = dir.join("multiline.toml");
    std::fs::write(&multiline, "[variables]\nfine = { default = \"x\" }\nsplit = {\n  default = \"y\" }\n").unwrap();
    let escape = dir.join("escape.toml");
    std::fs::write(&escape, "[variables]\nnewline = { default = \"a\\nb\" }\n").unwrap();
    for awk in awks() {
        let control = run(&awk, &[("SPIN_VARIABLE_LOG_LEVEL", "in\u{1}fo")], None);
        assert!(!control.status.success() && control.stdout.is_empty(), "{awk:?}");
        assert!(String::from_utf8_lossy(&control.stderr).contains("log_level"));
        for manifest in [&multiline, &escape] {
            let output = run(&awk, &[], Some(manifest));
            assert!(!output.status.success() && output.stdout.is_empty(), "{awk:?} {manifest:?}");
        }
    }
}

#[test]
fn a_base_file_with_the_older_provider_key_gets_the_same_key() {
    let dir = scratch("older-key");
    let base = dir.join("runtime-config.toml");
    let text = std::fs::read_to_string(root().join("runtime-config.toml")).unwrap();
    std::fs::write(
        &base,
        format!("{text}\n[[config_provider]]\ntype = \"static\"\nvalues = {{ log_level = \"debug\" }}\n"),
    )
    .unwrap();
    let base = base.display().to_string();
    for awk in awks() {
        let config = parse(&run(&awk, &[("RUNTIME_CONFIG", &base), ("SPIN_VARIABLE_LOG_LEVEL", "warn")], None));
        // The file's own provider keeps precedence; the script's answers the rest.
        assert_eq!(config.variables().get("log_level").map(String::as_str), Some("debug"), "{awk:?}");
        assert_eq!(config.variables().get("cache_prefix").map(String::as_str), Some("pc:catalog:"), "{awk:?}");
    }
}
