//! A Python callable as the harness's [`Port`]: each case goes to the callable as `(config
//! dict, targets array, predictions list)`, its answer dict comes back through the core's
//! answer reader.
//!
//! The callable runs on a worker thread of its own, a Python daemon thread, while the harness
//! waits for its reply without the GIL: a call that outlives the timeout is abandoned (the
//! worker finishes it in the background, its reply is dropped, and the next case goes to a new
//! worker); a daemon thread never keeps the interpreter from exiting. The worker's loop is
//! Python (below): a hung call has no Rust frame on its stack. The waiting thread looks at
//! Python's signals between slices of the wait, so that Ctrl-C stops the run: the port is not
//! called again, and `KeyboardInterrupt` is raised when the harness returns. The harness is
//! not run inside rayon's pool, so a port may call the oracle itself (`so.evaluate`) without
//! waiting for a pool thread that the harness holds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyModule, PyTuple};
use soft_objectness::harness::{Port, PortFailure};
use soft_objectness::{Answer, Case};

use crate::arrays::{type_error, type_name};
use crate::errors::Result;
use crate::outputs::case_out;

/// The worker: `start(port, name)` starts a daemon thread that answers the jobs put in the
/// queue it returns (`(args, reply)`: calls `port(*args)` and `reply(answer, None)` or
/// `reply(None, exception)`) until it takes `None`.
const WORKER: &std::ffi::CStr = cr#"
import queue
import threading


def start(port, name):
    jobs = queue.SimpleQueue()

    def work():
        while True:
            job = jobs.get()
            if job is None:
                return
            args, reply = job
            try:
                got = (port(*args), None)
            except BaseException as e:  # a failing case, whatever it is
                got = (None, e)
            reply(*got)
            del job, args, reply, got

    threading.Thread(target=work, name=name, daemon=True).start()
    return jobs
"#;

/// How often the waiting thread looks at Python's signals.
const SLICE: Duration = Duration::from_millis(50);

/// What a call of the port came to.
type Got = std::result::Result<Answer, PortFailure>;

/// A Python callable as a [`Port`].
pub struct PyPort {
    port: Py<PyAny>,
    /// The queue of the current worker (none yet, or the last one was abandoned).
    jobs: Option<Py<PyAny>>,
    /// The signal's exception (Ctrl-C) that stopped the run.
    interrupted: Option<PyErr>,
}

impl PyPort {
    /// `port` as a port; a `TypeError` when it is not callable.
    pub fn new(port: &Bound<'_, PyAny>) -> Result<Self> {
        if !port.is_callable() {
            return Err(type_error(format!(
                "port: expected a callable port(config, targets, predictions) -> answer, got {}",
                type_name(port)
            )));
        }
        Ok(PyPort {
            port: port.clone().unbind(),
            jobs: None,
            interrupted: None,
        })
    }

    /// Lets the worker go (after its call in flight, if any); the exception that interrupted
    /// the run, if one did.
    pub fn finish(mut self, py: Python<'_>) -> Result<()> {
        self.abandon(py);
        match self.interrupted.take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Tells the current worker to stop after its call and forgets it.
    fn abandon(&mut self, py: Python<'_>) {
        if let Some(jobs) = self.jobs.take() {
            // Best effort: a queue that refuses `None` leaves a daemon thread waiting.
            let _ = jobs.call_method1(py, "put", (py.None(),));
        }
    }

    /// Puts `case` in the worker's queue (starting a worker when there is none); the reply
    /// goes to `tx` unless `abandoned` is set by then.
    fn submit(
        &mut self,
        py: Python<'_>,
        case: &Case,
        tx: Sender<Got>,
        abandoned: Arc<AtomicBool>,
    ) -> Result<()> {
        let jobs = match &self.jobs {
            Some(j) => j.bind(py).clone(),
            None => {
                let start = worker(py)?;
                let j = start.call1((&self.port, "soft_objectness port"))?;
                self.jobs = Some(j.clone().unbind());
                j
            }
        };
        let d = case_out(py, case.clone())?;
        let d = d.as_any();
        let inputs = d.get_item("inputs")?;
        let args = PyTuple::new(
            py,
            [
                d.get_item("config")?,
                inputs.get_item("targets")?,
                inputs.get_item("predictions")?,
            ],
        )?;
        let tx = Mutex::new(tx);
        let reply = PyCFunction::new_closure(py, Some(c"reply"), None, move |args, _| {
            if !abandoned.load(Ordering::Acquire) {
                let got = received(args);
                // A receiver gone (the run ended) wants no reply.
                if let Ok(tx) = tx.lock() {
                    let _ = tx.send(got);
                }
            }
        })?;
        jobs.call_method1("put", ((args, reply),))?;
        Ok(())
    }

    /// The reply on `rx`, waited for up to `timeout` in slices, Python's signals looked at
    /// between them.
    fn wait(&mut self, rx: &Receiver<Got>, timeout: Option<Duration>) -> Got {
        let t0 = Instant::now();
        loop {
            let slice = match timeout {
                Some(t) if t0.elapsed() >= t => {
                    return Err(PortFailure::TimedOut {
                        seconds: t.as_secs_f64(),
                    });
                }
                Some(t) => (t - t0.elapsed()).min(SLICE),
                None => SLICE,
            };
            match rx.recv_timeout(slice) {
                Ok(got) => return got,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(PortFailure::raised(
                        "soft_objectness",
                        "the port's worker thread stopped without a reply",
                    ));
                }
            }
            if let Err(e) = Python::attach(|py| py.check_signals()) {
                let failure = interruption(&e);
                self.interrupted = Some(e);
                return Err(failure);
            }
        }
    }
}

impl Port for PyPort {
    fn answer(&mut self, case: &Case, timeout: Option<Duration>) -> Got {
        if let Some(e) = &self.interrupted {
            return Err(interruption(e));
        }
        let (tx, rx) = channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&abandoned);
        Python::attach(|py| self.submit(py, case, tx, flag)).map_err(|e| {
            PortFailure::raised("soft_objectness", format!("calling the port: {e}"))
        })?;
        let got = self.wait(&rx, timeout);
        if matches!(got, Err(PortFailure::TimedOut { .. })) || self.interrupted.is_some() {
            abandoned.store(true, Ordering::Release);
            Python::attach(|py| self.abandon(py));
        }
        got
    }
}

/// The failure of a call cut short by the signal's exception `e`.
fn interruption(e: &PyErr) -> PortFailure {
    PortFailure::raised("KeyboardInterrupt", format!("the run was interrupted: {e}"))
}

/// The worker's `start`, compiled once per process.
fn worker(py: Python<'_>) -> Result<Bound<'_, PyAny>> {
    static START: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let start = START.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let m = PyModule::from_code(
            py,
            WORKER,
            c"soft_objectness/_core/port_worker.py",
            c"soft_objectness._core._port_worker",
        )?;
        Ok(m.getattr("start")?.unbind())
    })?;
    Ok(start.bind(py).clone())
}

/// What the worker's `reply(answer, exception)` says: the answer read by the core's answer
/// reader (NaN and infinities kept for the comparison to judge; anything unreadable
/// malformed), or the exception raised.
fn received(args: &Bound<'_, PyTuple>) -> Got {
    let (Ok(answer), Ok(exception)) = (args.get_item(0), args.get_item(1)) else {
        return Err(PortFailure::raised(
            "soft_objectness",
            "a reply without its values",
        ));
    };
    if !exception.is_none() {
        return Err(raised(&exception));
    }
    crate::answers::read_quiet(&answer, None).map_err(|e| PortFailure::Malformed {
        what: e.to_string(),
    })
}

/// An exception as a failure: its type (`IndexError`, `numpy.linalg.LinAlgError`) and its
/// message with the place it was raised (`... (at reference.py:91 in prepare)`).
fn raised(e: &Bound<'_, PyAny>) -> PortFailure {
    let kind = type_name(e);
    let message = e.str().map(|s| s.to_string()).unwrap_or_default();
    let place = place(e).unwrap_or_default();
    let message = match (message.is_empty(), place.is_empty()) {
        (_, true) => message,
        (true, false) => format!("at {place}"),
        (false, false) => format!("{message} (at {place})"),
    };
    PortFailure::raised(kind, message)
}

/// `FILE:LINE in FUNCTION` of the innermost frame of `e`'s traceback (the file's name only).
fn place(e: &Bound<'_, PyAny>) -> Option<String> {
    let py = e.py();
    let tb = e.getattr("__traceback__").ok()?;
    let frames = py
        .import("traceback")
        .ok()?
        .call_method1("extract_tb", (tb,))
        .ok()?;
    let last = frames.get_item(-1).ok()?;
    let file: String = last.getattr("filename").ok()?.extract().ok()?;
    let line: usize = last.getattr("lineno").ok()?.extract().unwrap_or(0);
    let function: String = last.getattr("name").ok()?.extract().ok()?;
    let file = file.rsplit(['/', '\\']).next().unwrap_or(&file).to_string();
    Some(format!("{file}:{line} in {function}"))
}
