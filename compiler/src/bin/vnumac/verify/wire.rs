//! The QMP socket as the client reads it: every answer bounded in size and in time, and the
//! end of the connection an error, so that a peer that closes, stalls or floods is a clear
//! error and never a hang.

use std::io::{self, BufRead, BufReader, Error, ErrorKind, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The most one answer of the monitor may take (`info mtree` of a large guest is well under).
pub(crate) const MAX_ANSWER: u64 = 16 << 20;

/// The reading side of a QMP socket, with a deadline and a byte budget per answer.
pub(crate) struct Wire {
    reader: BufReader<UnixStream>,
    socket: UnixStream,
    timeout: Duration,
    deadline: Instant,
    left: u64,
}

impl Wire {
    /// Reads from `socket`, each answer within `timeout`.
    pub(crate) fn new(socket: &UnixStream, timeout: Duration) -> io::Result<Wire> {
        Ok(Wire {
            reader: BufReader::new(socket.try_clone()?),
            socket: socket.try_clone()?,
            timeout,
            deadline: Instant::now() + timeout,
            left: MAX_ANSWER,
        })
    }

    /// Start waiting for a new answer: a new deadline and a new budget.
    pub(crate) fn start(&mut self) {
        self.deadline = Instant::now() + self.timeout;
        self.left = MAX_ANSWER;
    }
}

impl BufRead for Wire {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.left == 0 {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("an answer longer than {} MiB", MAX_ANSWER >> 20),
            ));
        }
        let now = Instant::now();
        if now >= self.deadline {
            return Err(Error::new(ErrorKind::TimedOut, "no answer in time"));
        }
        self.socket.set_read_timeout(Some(self.deadline - now))?;
        let left = usize::try_from(self.left).unwrap_or(usize::MAX);
        match self.reader.fill_buf() {
            Ok([]) => Err(Error::new(ErrorKind::UnexpectedEof, "the connection closed")),
            Ok(buf) => Ok(&buf[..buf.len().min(left)]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Error::new(ErrorKind::TimedOut, "no answer in time"))
            }
            Err(e) => Err(e),
        }
    }

    fn consume(&mut self, n: usize) {
        self.left = self.left.saturating_sub(n as u64);
        self.reader.consume(n);
    }
}

impl Read for Wire {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}
