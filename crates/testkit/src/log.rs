//! [`LogCapture`]: the log lines a test's code writes, in the format the components write them
//! ([`kit::log::subscriber`]).

use std::sync::{Arc, Mutex, MutexGuard};

use tracing::subscriber::DefaultGuard;

/// A buffer of this thread's log lines, filled until the guard from [`LogCapture::start`] is dropped.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Captures this thread's log lines until the guard is dropped.
    pub fn start() -> (Self, DefaultGuard) {
        let capture = Self::default();
        let writer = capture.clone();
        let subscriber = kit::log::subscriber().with_writer(move || writer.clone()).finish();
        (capture, tracing::subscriber::set_default(subscriber))
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer()).into_owned()
    }

    /// The lines written so far, parsed; panics on a line that is not JSON.
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
            .collect()
    }

    /// The lines of `target` written so far.
    pub fn lines_of(&self, target: &str) -> Vec<serde_json::Value> {
        self.lines().into_iter().filter(|line| line["target"] == target).collect()
    }

    /// Forgets what was written so far.
    pub fn clear(&self) {
        self.buffer().clear();
    }

    fn buffer(&self) -> MutexGuard<'_, Vec<u8>> {
        // A test that panicked while writing poisons the lock; its lines are still worth showing.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
