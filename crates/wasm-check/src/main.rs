//! # wasm-check — will these components run on Spin?
//!
//! For every component `source` in `spin.toml` (or the files given), it:
//! 1. compiles the component with wasmtime 44, the engine Spin 4.0.2 pins, so a component that engine
//!    cannot compile fails here rather than at `spin up`;
//! 2. checks each import is an interface the Spin 4.0 host provides ([`SPIN_PROVIDED`]): WASI 0.2.0–0.2.12,
//!    `fermyon:spin/*@2.0.0`, `spin:postgres/postgres@3.0.0|4.0.0`, `spin:sqlite`, `wasi:keyvalue`,
//!    `wasi:config` — or one that a dependency declared for that component in spin.toml really exports,
//!    with the declarations resolved as `spin up` resolves them (one entry per package, see
//!    [`manifest_targets`]); anything else (a WASI 0.3 import, a stray custom interface) fails;
//! 3. links it the way Spin does for WASI: wasmtime-wasi 44's WASI 0.2 and wasi-http implementations, so
//!    every WASI import is type-checked against the real host (Spin's own interfaces are stubbed: their names
//!    were checked in step 2);
//! 4. checks it exports `wasi:http/incoming-handler@0.2.x`, which Spin's HTTP trigger calls — or, for a
//!    component dependency given with `--dependency`, that it exports the `pycommerce:bridge` interfaces
//!    its importers need.
//!
//! Exit status 1 lists every problem found.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Deserialize;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceTable, ResourceType};
use wasmtime::{Config, Engine};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{HostFutureIncomingResponse, OutgoingRequestConfig};
use wasmtime_wasi_http::p2::{HttpResult, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};
use wasmtime_wasi_http::WasiHttpCtx;

/// Host state the WASI linker functions are typed over (never instantiated here).
struct Host {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: NoOutbound,
    table: ResourceTable,
}

/// The check never runs a component, so outbound requests are simply denied.
struct NoOutbound;

impl WasiHttpHooks for NoOutbound {
    fn send_request(
        &mut self,
        _request: hyper::Request<HyperOutgoingBody>,
        _config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        Err(ErrorCode::HttpRequestDenied.into())
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

/// Interfaces the Spin 4.0 host provides to a component, as `package/interface` with the versions allowed.
const SPIN_PROVIDED: &[(&str, &[&str])] = &[
    ("wasi:cli/", WASI_0_2),
    ("wasi:clocks/", WASI_0_2),
    ("wasi:filesystem/", WASI_0_2),
    ("wasi:io/", WASI_0_2),
    ("wasi:random/", WASI_0_2),
    ("wasi:sockets/", WASI_0_2),
    ("wasi:http/types", WASI_0_2),
    ("wasi:http/outgoing-handler", WASI_0_2),
    ("fermyon:spin/", &["2.0.0"]),
    ("spin:postgres/postgres", &["3.0.0", "4.0.0"]),
    ("spin:sqlite/sqlite", &["3.0.0"]),
    ("wasi:keyvalue/", &["0.2.0-draft2"]),
    ("wasi:config/store", &["0.2.0-draft-2024-09-27"]),
];
/// WASI 0.2 releases a component may import. wasmtime-wasi 44 implements 0.2.6 and its linker satisfies any
/// 0.2.x import with it (semver-compatible matching); Rust's std imports 0.2.12, and step 3 checks that every
/// function such an import names exists in 0.2.6.
const WASI_0_2: &[&str] = &[
    "0.2.0", "0.2.1", "0.2.2", "0.2.3", "0.2.4", "0.2.5", "0.2.6", "0.2.7", "0.2.8", "0.2.9", "0.2.10", "0.2.11",
    "0.2.12",
];

/// Checks Spin components.
#[derive(Debug, Parser)]
#[command(name = "wasm-check")]
struct Cli {
    /// The manifest whose component sources are checked (when no files are given).
    #[arg(long, default_value = "spin.toml")]
    manifest: PathBuf,
    /// Component files to check instead of the manifest's.
    files: Vec<PathBuf>,
    /// Component dependencies to check as well: they must export `pycommerce:bridge/catalog`,
    /// `/accounts` and `/events` instead of an HTTP handler.
    #[arg(long = "dependency")]
    dependencies: Vec<PathBuf>,
}

/// What a component must export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// An HTTP-triggered component.
    HttpComponent,
    /// The `bridge-client` dependency.
    BridgeDependency,
}

/// Interfaces the bridge dependency must export (any 0.2.x version, as `wit/bridge.wit` declares).
const BRIDGE_EXPORTS: &[&str] =
    &["pycommerce:bridge/catalog@0.2.", "pycommerce:bridge/accounts@0.2.", "pycommerce:bridge/events@0.2."];

#[derive(Debug, Deserialize)]
struct Manifest {
    component: std::collections::BTreeMap<String, ManifestComponent>,
}

#[derive(Debug, Deserialize)]
struct ManifestComponent {
    source: String,
    #[serde(default)]
    dependencies: std::collections::BTreeMap<String, ManifestDependency>,
}

/// A component dependency; only local files can be checked here.
#[derive(Debug, Deserialize)]
struct ManifestDependency {
    path: Option<String>,
}

/// One component to check.
#[derive(Debug)]
struct Target {
    file: PathBuf,
    role: Role,
    /// Imports that the component's declared dependencies export (checked, then stubbed like Spin's own).
    from_dependencies: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (engine, linker) = spin_like_host()?;
    let targets = if cli.files.is_empty() {
        manifest_targets(&engine, &cli.manifest)?
    } else {
        cli.files
            .into_iter()
            .map(|file| Target { file, role: Role::HttpComponent, from_dependencies: Vec::new() })
            .collect()
    };
    let mut failures = 0;
    let checks: Vec<Target> = targets
        .into_iter()
        .chain(cli.dependencies.into_iter().map(|file| Target {
            file,
            role: Role::BridgeDependency,
            from_dependencies: Vec::new(),
        }))
        .collect();
    let files: Vec<&PathBuf> = checks.iter().map(|target| &target.file).collect();
    for target in &checks {
        let file = &target.file;
        match check(&engine, &linker, target) {
            Ok(imports) => {
                println!("ok   {} ({imports} imports, all provided by Spin or a declared dependency)", file.display())
            }
            Err(error) => {
                failures += 1;
                println!("FAIL {}: {error:#}", file.display());
            }
        }
    }
    if failures > 0 {
        bail!("{failures} of {} components would not run on Spin", files.len());
    }
    println!("{} passed, 0 failed", files.len());
    Ok(())
}

/// The engine and the WASI linker, set up as Spin's.
fn spin_like_host() -> anyhow::Result<(Engine, Linker<Host>)> {
    let engine = Engine::new(&Config::new())?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    Ok((engine, linker))
}

/// The manifest's components, each with the imports its `dependencies` satisfy, resolved as Spin 4.0.2's
/// composition does (`spin-compose`): every entry registers its package in one graph (so two entries of one
/// package are refused), an entry matches the imports of its package (and of its interface and version when
/// it names them), every entry must match an import, no import may match two entries, and the dependency
/// must export each import it matched.
fn manifest_targets(engine: &Engine, path: &Path) -> anyhow::Result<Vec<Target>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let manifest: Manifest = toml::from_str(&text).context("parse the manifest")?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut targets = Vec::new();
    for (id, component) in &manifest.component {
        let file = base.join(&component.source);
        let from_dependencies = if component.dependencies.is_empty() {
            Vec::new()
        } else {
            let bytes = std::fs::read(&file).with_context(|| format!("read {}", file.display()))?;
            let importer = Component::from_binary(engine, &bytes).map_err(anyhow::Error::from)?;
            let imports: Vec<String> =
                importer.component_type().imports(engine).map(|(name, _)| name.to_owned()).collect();
            resolve_dependencies(engine, base, id, &component.dependencies, &imports)?
        };
        targets.push(Target { file, role: Role::HttpComponent, from_dependencies });
    }
    Ok(targets)
}

/// The imports of component `id` that its `dependencies` satisfy, or why Spin would refuse them.
fn resolve_dependencies(
    engine: &Engine,
    base: &Path,
    id: &str,
    dependencies: &std::collections::BTreeMap<String, ManifestDependency>,
    imports: &[String],
) -> anyhow::Result<Vec<String>> {
    let mut packages = std::collections::BTreeSet::new();
    let mut satisfied: Vec<String> = Vec::new();
    for (name, dependency) in dependencies {
        let wanted = DependencyName::parse(name)
            .with_context(|| format!("component `{id}`: `{name}` is not a dependency name Spin accepts"))?;
        if !packages.insert(wanted.package.clone()) {
            bail!(
                "component `{id}`: package {} has already been registered in the graph (spin up refuses one \
                 dependency entry per interface of a package: declare \"{}@<version>\" once)",
                wanted.package,
                wanted.package
            );
        }
        let matched: Vec<&String> = imports.iter().filter(|import| wanted.matches(import)).collect();
        if matched.is_empty() {
            bail!("component `{id}`: dependency `{name}` matches none of its imports");
        }
        let file = dependency
            .path
            .as_ref()
            .with_context(|| format!("component `{id}`: dependency `{name}` is not a local path"))?;
        let bytes = std::fs::read(base.join(file)).with_context(|| format!("read dependency {file}"))?;
        let provider = Component::from_binary(engine, &bytes).map_err(anyhow::Error::from)?;
        let exports: Vec<String> =
            provider.component_type().exports(engine).map(|(export, _)| export.to_owned()).collect();
        for import in matched {
            if satisfied.contains(import) {
                bail!("component `{id}`: import `{import}` matches more than one dependency");
            }
            if !exports.contains(import) {
                bail!("component `{id}`: dependency {file} does not export `{import}`");
            }
            satisfied.push(import.clone());
        }
    }
    Ok(satisfied)
}

/// A dependency name of a spin.toml `[component.<id>.dependencies]` table: `ns:pkg[/interface][@version]`.
#[derive(Debug, PartialEq, Eq)]
struct DependencyName {
    package: String,
    interface: Option<String>,
    version: Option<String>,
}

impl DependencyName {
    fn parse(name: &str) -> Option<Self> {
        let (path, version) = match name.split_once('@') {
            Some((path, version)) => (path, Some(version.to_owned())),
            None => (name, None),
        };
        let (package, interface) = match path.split_once('/') {
            Some((package, interface)) => (package, Some(interface.to_owned())),
            None => (path, None),
        };
        package.contains(':').then(|| Self { package: package.to_owned(), interface, version })
    }

    /// Whether the import `ns:pkg/interface@version` is one this entry satisfies.
    fn matches(&self, import: &str) -> bool {
        let (path, version) = match import.split_once('@') {
            Some((path, version)) => (path, Some(version)),
            None => (import, None),
        };
        let Some((package, interface)) = path.split_once('/') else {
            return false;
        };
        package == self.package
            && self.interface.as_deref().is_none_or(|wanted| wanted == interface)
            && self.version.as_deref().is_none_or(|wanted| Some(wanted) == version)
    }
}

/// Compiles `file` and checks its imports and exports; returns the number of imports.
fn check(engine: &Engine, wasi: &Linker<Host>, target: &Target) -> anyhow::Result<usize> {
    let bytes = std::fs::read(&target.file).with_context(|| "read the component (was it built for wasm32-wasip2?)")?;
    check_bytes(engine, wasi, &bytes, target.role, &target.from_dependencies)
}

fn check_bytes(
    engine: &Engine,
    wasi: &Linker<Host>,
    bytes: &[u8],
    role: Role,
    from_dependencies: &[String],
) -> anyhow::Result<usize> {
    let component =
        Component::from_binary(engine, bytes).map_err(anyhow::Error::from).context("wasmtime 44 cannot compile it")?;
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_owned()).collect();
    let unknown: Vec<&String> =
        imports.iter().filter(|name| !is_provided(name) && !from_dependencies.contains(name)).collect();
    if !unknown.is_empty() {
        bail!("imports that neither Spin nor a declared dependency provides: {unknown:?}");
    }
    let mut linker = wasi.clone();
    stub_spin_interfaces(engine, &mut linker, &component)?;
    linker
        .instantiate_pre(&component)
        .map_err(anyhow::Error::from)
        .context("its WASI imports do not link against wasmtime-wasi 44")?;
    let exported: Vec<String> = ty
        .exports(engine)
        .filter(|(_, item)| matches!(item, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_owned())
        .collect();
    match role {
        Role::HttpComponent => {
            let handler = exported.iter().any(|name| {
                name.strip_prefix("wasi:http/incoming-handler@").is_some_and(|version| WASI_0_2.contains(&version))
            });
            if !handler {
                bail!("does not export wasi:http/incoming-handler@0.2.x");
            }
        }
        Role::BridgeDependency => {
            for wanted in BRIDGE_EXPORTS {
                if !exported.iter().any(|name| name.starts_with(wanted)) {
                    bail!("does not export {wanted}x (exports: {exported:?})");
                }
            }
        }
    }
    Ok(imports.len())
}

/// Interfaces wasmtime-wasi implements; the linker defines them for real.
const WASMTIME_WASI: &[&str] =
    &["wasi:cli/", "wasi:clocks/", "wasi:filesystem/", "wasi:io/", "wasi:random/", "wasi:sockets/", "wasi:http/"];

/// A placeholder for the resources of Spin's own interfaces.
struct SpinResource;

/// Defines Spin's own interfaces (Postgres, Redis, variables, ...) as stubs so the component links; their
/// names were already checked against [`SPIN_PROVIDED`]. WASI interfaces are left to the real linker.
fn stub_spin_interfaces(engine: &Engine, linker: &mut Linker<Host>, component: &Component) -> anyhow::Result<()> {
    for (name, item) in component.component_type().imports(engine) {
        if WASMTIME_WASI.iter().any(|prefix| name.starts_with(prefix)) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item else {
            bail!("import `{name}` is not an interface");
        };
        let mut stub = linker.instance(name).map_err(anyhow::Error::from)?;
        for (export, item) in instance.exports(engine) {
            match item {
                ComponentItem::ComponentFunc(_) => stub
                    .func_new(export, |_, _, _, _| Err(wasmtime::Error::msg("stub of a Spin interface")))
                    .map_err(anyhow::Error::from)?,
                ComponentItem::Resource(_) => stub
                    .resource(export, ResourceType::host::<SpinResource>(), |_, _| Ok(()))
                    .map_err(anyhow::Error::from)?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// Whether Spin provides the interface named `name` (`package:name/interface@version`).
fn is_provided(name: &str) -> bool {
    let Some((interface, version)) = name.split_once('@') else {
        return false;
    };
    SPIN_PROVIDED.iter().any(|(prefix, versions)| {
        let matches = if prefix.ends_with('/') { interface.starts_with(prefix) } else { interface == *prefix };
        matches && versions.contains(&version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A component exporting an (empty) HTTP handler instance, with `imports` spliced in.
    fn component(imports: &str, export_handler: bool) -> Vec<u8> {
        let export = if export_handler {
            r#"(instance $handler) (export "wasi:http/incoming-handler@0.2.6" (instance $handler))"#
        } else {
            ""
        };
        wat::parse_str(format!("(component {imports} {export})")).unwrap()
    }

    fn verdict(bytes: &[u8]) -> Result<usize, String> {
        let (engine, linker) = spin_like_host().unwrap();
        check_bytes(&engine, &linker, bytes, Role::HttpComponent, &[]).map_err(|error| format!("{error:#}"))
    }

    #[test]
    fn a_component_using_spin_and_wasi_interfaces_passes() {
        let imports = r#"
            (import "fermyon:spin/variables@2.0.0" (instance))
            (import "wasi:clocks/monotonic-clock@0.2.6" (instance (export "now" (func (result u64)))))
        "#;
        assert_eq!(verdict(&component(imports, true)), Ok(2));
    }

    #[test]
    fn an_interface_spin_does_not_provide_fails() {
        let error = verdict(&component(r#"(import "pycommerce:bridge/catalog@0.1.0" (instance))"#, true));
        assert!(error.unwrap_err().contains("pycommerce:bridge/catalog"));
        let error = verdict(&component(r#"(import "wasi:http/types@0.3.0-rc-2026-01-06" (instance))"#, true));
        assert!(error.is_err());
    }

    #[test]
    fn a_wasi_import_with_the_wrong_type_fails_to_link() {
        let imports =
            r#"(import "wasi:clocks/monotonic-clock@0.2.6" (instance (export "now" (func (result string)))))"#;
        assert!(verdict(&component(imports, true)).unwrap_err().contains("do not link"));
    }

    #[test]
    fn a_dependency_must_export_the_bridge_interfaces() {
        let (engine, linker) = spin_like_host().unwrap();
        let exports = |version: &str| {
            format!(
                r#"(component (instance $c) (export "pycommerce:bridge/catalog@{version}" (instance $c))
                              (instance $a) (export "pycommerce:bridge/accounts@{version}" (instance $a))
                              (instance $e) (export "pycommerce:bridge/events@{version}" (instance $e)))"#
            )
        };
        let good = wat::parse_str(exports("0.2.0")).unwrap();
        assert_eq!(check_bytes(&engine, &linker, &good, Role::BridgeDependency, &[]).unwrap(), 0);
        // A dependency built from the previous interface would not link with the components.
        let previous = wat::parse_str(exports("0.1.0")).unwrap();
        assert!(check_bytes(&engine, &linker, &previous, Role::BridgeDependency, &[]).is_err());
        let partial =
            wat::parse_str(r#"(component (instance $c) (export "pycommerce:bridge/catalog@0.2.0" (instance $c)))"#)
                .unwrap();
        assert!(check_bytes(&engine, &linker, &partial, Role::BridgeDependency, &[]).is_err());
    }

    #[test]
    fn an_import_is_allowed_only_when_a_declared_dependency_exports_it() {
        let (engine, linker) = spin_like_host().unwrap();
        let bytes = component(r#"(import "pycommerce:bridge/catalog@0.1.0" (instance))"#, true);
        let provided = ["pycommerce:bridge/catalog@0.1.0".to_owned()];
        assert_eq!(check_bytes(&engine, &linker, &bytes, Role::HttpComponent, &provided).unwrap(), 1);
        let other = ["pycommerce:bridge/accounts@0.1.0".to_owned()];
        assert!(check_bytes(&engine, &linker, &bytes, Role::HttpComponent, &other).is_err());
    }

    /// Writes `files` into a directory of this process named `case` and returns it.
    fn scratch(case: &str, files: &[(&str, Vec<u8>)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wasm-check-{}-{case}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    }

    fn bridge_client() -> Vec<u8> {
        let exports = r#"(instance $c) (export "pycommerce:bridge/catalog@0.1.0" (instance $c))
                          (instance $a) (export "pycommerce:bridge/accounts@0.1.0" (instance $a))"#;
        wat::parse_str(format!("(component {exports})")).unwrap()
    }

    fn orders() -> Vec<u8> {
        component(
            r#"(import "pycommerce:bridge/catalog@0.1.0" (instance))
               (import "pycommerce:bridge/accounts@0.1.0" (instance))"#,
            true,
        )
    }

    /// The targets of a manifest whose `orders` component (importing two bridge interfaces) declares
    /// `dependencies` on a client exporting both.
    fn targets_of(case: &str, dependencies: &str) -> anyhow::Result<Vec<Target>> {
        let dir = scratch(case, &[("orders.wasm", orders()), ("client.wasm", bridge_client())]);
        let manifest =
            format!("[component.orders]\nsource = \"orders.wasm\"\n[component.orders.dependencies]\n{dependencies}\n");
        std::fs::write(dir.join("spin.toml"), manifest).unwrap();
        let (engine, _) = spin_like_host().unwrap();
        manifest_targets(&engine, &dir.join("spin.toml"))
    }

    #[test]
    fn one_package_level_dependency_satisfies_every_interface_of_the_package() {
        let targets = targets_of("package", r#""pycommerce:bridge@0.1.0" = { path = "client.wasm" }"#).unwrap();
        assert_eq!(
            targets[0].from_dependencies,
            ["pycommerce:bridge/catalog@0.1.0".to_owned(), "pycommerce:bridge/accounts@0.1.0".to_owned()]
        );
    }

    #[test]
    fn one_entry_per_interface_of_a_package_is_refused_as_spin_up_does() {
        let error = targets_of(
            "per-interface",
            r#""pycommerce:bridge/catalog" = { path = "client.wasm" }
               "pycommerce:bridge/accounts" = { path = "client.wasm" }"#,
        )
        .unwrap_err();
        assert!(format!("{error:#}").contains("already been registered in the graph"), "{error:#}");
    }

    #[test]
    fn a_dependency_that_matches_no_import_or_lacks_the_export_is_refused() {
        let error = targets_of("other-package", r#""pycommerce:other@0.1.0" = { path = "client.wasm" }"#).unwrap_err();
        assert!(format!("{error:#}").contains("matches none of its imports"), "{error:#}");
        let error = targets_of("other-version", r#""pycommerce:bridge@0.2.0" = { path = "client.wasm" }"#).unwrap_err();
        assert!(format!("{error:#}").contains("matches none"), "{error:#}");
    }

    #[test]
    fn dependency_names_match_like_spin_compose() {
        let package = DependencyName::parse("pycommerce:bridge@0.1.0").unwrap();
        assert!(package.matches("pycommerce:bridge/catalog@0.1.0"));
        assert!(!package.matches("pycommerce:bridge/catalog@0.1.1"));
        assert!(!package.matches("pycommerce:bridgework/catalog@0.1.0"));
        let interface = DependencyName::parse("pycommerce:bridge/events").unwrap();
        assert!(interface.matches("pycommerce:bridge/events@0.1.0"));
        assert!(!interface.matches("pycommerce:bridge/catalog@0.1.0"));
        assert_eq!(DependencyName::parse("plain-name"), None);
    }

    #[test]
    fn a_component_without_the_http_handler_fails() {
        assert!(verdict(&component("", false)).unwrap_err().contains("incoming-handler"));
    }

    #[test]
    fn spin_interfaces_are_provided_and_others_are_not() {
        assert!(is_provided("wasi:http/outgoing-handler@0.2.6"));
        assert!(is_provided("wasi:io/streams@0.2.0"));
        assert!(is_provided("fermyon:spin/variables@2.0.0"));
        assert!(is_provided("spin:postgres/postgres@4.0.0"));
        assert!(!is_provided("spin:postgres/postgres@5.0.0"));
        assert!(!is_provided("wasi:http/types@0.3.0-rc-2026-01-06"));
        assert!(!is_provided("wasi:http/handler@0.2.6"));
        assert!(!is_provided("pycommerce:bridge/catalog@0.1.0"));
        assert!(!is_provided("wasi:io/streams"));
        assert!(is_provided("wasi:io/streams@0.2.12"));
        assert!(!is_provided("wasi:io/streams@0.2.13"));
    }
}
