//! Headless Chromium for pages that build themselves with JavaScript (the analytics dashboard).
//!
//! [`render`] runs Chromium once per page: `--dump-dom` prints the DOM after the scripts ran and
//! `--screenshot` saves a PNG of the same load. The wait is `--virtual-time-budget`: Chromium's virtual clock
//! stands still while network fetches are pending, so the budget counts only idle page time, however slow
//! the server answers. (Checked with Chromium 156: a page whose two rounds of `fetch()` each took 3 s of real
//! latency was complete in the dump with a budget of 1 s.) A wall-clock timeout bounds the whole run, since a
//! server that never answers would hold Chromium forever.
//!
//! [`elements`] reads tags and their attributes back from the dumped DOM, enough for tests to check that the
//! charts were drawn from the data (`<rect class="bar" data-…>`), without an HTML parser.
//!
//! Chromium is optional: tests call [`chromium`] first and skip, with a note, when it is missing.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};

/// Where Debian's `chromium` package puts its launcher.
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";
/// Longest a render may take, Chromium's start included.
const RENDER_TIMEOUT: Duration = Duration::from_secs(60);
/// Virtual milliseconds the page may spend idle (timers, rendering) after its last fetch has answered.
const VIRTUAL_TIME_BUDGET_MS: u32 = 10_000;

/// The Chromium binary: `CHROMIUM_BIN` if set and present, else `/usr/bin/chromium` if present.
#[must_use]
pub fn chromium() -> Option<PathBuf> {
    let configured = std::env::var_os("CHROMIUM_BIN").map(PathBuf::from);
    configured.into_iter().chain([PathBuf::from(DEFAULT_CHROMIUM)]).find(|path| path.is_file())
}

/// Loads `url` in headless Chromium, saves a screenshot (1280×1000 viewport) to `screenshot` and returns the
/// DOM as serialized after the page's scripts ran and its fetches answered.
///
/// Fails if Chromium is missing, exits with an error, writes no screenshot, or takes longer than a minute
/// (it is then killed).
pub async fn render(url: &str, screenshot: &Path) -> anyhow::Result<String> {
    let binary = chromium().context("Chromium not found: install it (apt-get install chromium) or set CHROMIUM_BIN")?;
    if let Some(parent) = screenshot.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    // A stale file would hide a run that wrote none.
    let _ = std::fs::remove_file(screenshot);
    let profile = fresh_profile_dir();

    let mut screenshot_arg = OsString::from("--screenshot=");
    screenshot_arg.push(screenshot);
    let mut profile_arg = OsString::from("--user-data-dir=");
    profile_arg.push(&profile);
    let mut command = tokio::process::Command::new(&binary);
    command
        .args([
            "--headless=new",
            // Containers run tests as root, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            // Docker's default /dev/shm (64 MB) is too small for Chromium's shared memory.
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
            "--lang=en-US",
            "--window-size=1280,1000",
        ])
        .arg(format!("--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}"))
        .arg(profile_arg)
        .arg("--dump-dom")
        .arg(screenshot_arg)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // On timeout the output future is dropped, and with it the child: this kills the browser process,
        // whose helper processes (zygotes, renderers, GPU) then exit by themselves.
        .kill_on_drop(true);
    let child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
    let outcome = tokio::time::timeout(RENDER_TIMEOUT, child.wait_with_output()).await;
    // Our own temporary profile, removed here even when Chromium had to be killed (headless Chromium's
    // default temporary profile would then stay behind in /tmp).
    remove_profile(&profile);

    let output = match outcome {
        Ok(output) => output.context("waiting for Chromium")?,
        Err(_) => bail!("Chromium did not finish rendering {url} within {RENDER_TIMEOUT:?}; killed it"),
    };
    if !output.status.success() {
        bail!("Chromium failed on {url} ({}): {}", output.status, stderr_tail(&output.stderr));
    }
    if !screenshot.is_file() {
        bail!("Chromium wrote no screenshot to {}: {}", screenshot.display(), stderr_tail(&output.stderr));
    }
    let dom = String::from_utf8(output.stdout).context("Chromium's DOM dump is not UTF-8")?;
    if dom.trim().is_empty() {
        bail!("Chromium dumped an empty DOM for {url}: {}", stderr_tail(&output.stderr));
    }
    Ok(dom)
}

/// The attributes of each `<tag …>` element in `dom` (a DOM as Chromium serializes it), in document order.
///
/// Attribute values are unescaped (`&amp;`, `&quot;`, `&lt;`, `&gt;`, `&nbsp;`); attributes without a value
/// map to `""`. Meant for `--dump-dom` output, which always quotes values with `"`; not a general HTML parser.
#[must_use]
pub fn elements(dom: &str, tag: &str) -> Vec<HashMap<String, String>> {
    let open = format!("<{}", tag.to_ascii_lowercase());
    let mut found = Vec::new();
    let mut rest = dom;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        rest = after;
        // `<rect` must not match `<rectangle`.
        if !after.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
            continue;
        }
        let (attributes, end) = parse_attributes(after);
        found.push(attributes);
        rest = &after[end..];
    }
    found
}

/// Parses `name="value"` pairs up to the tag's closing `>`; returns them and the offset after the `>`.
fn parse_attributes(tag_body: &str) -> (HashMap<String, String>, usize) {
    let mut attributes = HashMap::new();
    let bytes = tag_body.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attributes, i);
        }
        if bytes[i] == b'>' {
            return (attributes, i + 1);
        }
        let name_start = i;
        while i < bytes.len() && !matches!(bytes[i], b'=' | b'>' | b'/') && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let name = tag_body[name_start..i].to_ascii_lowercase();
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' && bytes.get(i + 1) == Some(&b'"') {
            let value_start = i + 2;
            let value_end = tag_body[value_start..].find('"').map_or(bytes.len(), |n| value_start + n);
            value = unescape(&tag_body[value_start..value_end]);
            i = (value_end + 1).min(bytes.len());
        }
        attributes.insert(name, value);
    }
}

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// The last lines of Chromium's stderr, for error messages (it logs much noise before the cause).
fn stderr_tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|line| !line.contains("dbus")).collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Removes a profile and, if Chromium was killed before cleaning up, the singleton socket directory in /tmp
/// that the profile's `SingletonSocket` link points to.
fn remove_profile(profile: &Path) {
    if let Ok(socket) = std::fs::read_link(profile.join("SingletonSocket")) {
        let socket_dir = socket
            .parent()
            .filter(|dir| dir.file_name().is_some_and(|name| name.to_string_lossy().starts_with("org.chromium.")));
        if let Some(dir) = socket_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    let _ = std::fs::remove_dir_all(profile);
}

fn fresh_profile_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("e2e-chromium-{}-{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_reads_attributes_of_each_matching_tag() {
        let dom = r#"<body data-state="ready"><svg id="c"><rectangle x="1"></rectangle><g><title>a</title>
            <rect class="hit" x="0"></rect><rect class="bar" data-start="2026-11-01" data-revenue-cents="12345"
            data-orders="2"></rect><rect class="bar" data-product-id="p&amp;&quot;1" hidden></rect></g></svg></body>"#;
        let rects = elements(dom, "rect");
        assert_eq!(rects.len(), 3);
        assert_eq!(rects[1]["class"], "bar");
        assert_eq!(rects[1]["data-revenue-cents"], "12345");
        assert_eq!(rects[1]["data-orders"], "2");
        assert_eq!(rects[2]["data-product-id"], "p&\"1");
        assert_eq!(rects[2]["hidden"], "");
        assert_eq!(elements(dom, "body")[0]["data-state"], "ready");
    }
}
