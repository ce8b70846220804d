//! A small incremental parser for Server-Sent Events (the subset Ordo's API sends: `id`,
//! `event`, `data` fields, `:` comments for keep-alive), bounded in memory.

use crate::error::ClientError;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The `id:` field, if the event had one.
    pub(crate) id: Option<String>,
    /// The `event:` field (`message` when absent).
    pub(crate) event: String,
    /// The `data:` lines joined with `\n`.
    pub(crate) data: String,
}

/// Feeds on bytes as they arrive and yields complete events. Holds at most `max_event` bytes
/// (one event plus the unparsed tail); more is an error rather than unbounded growth.
#[derive(Debug)]
pub(crate) struct SseParser {
    buf: Vec<u8>,
    /// Offset in `buf` of the first byte not yet consumed as a line.
    start: usize,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    max_event: usize,
}

impl SseParser {
    pub(crate) fn new(max_event: usize) -> Self {
        Self {
            buf: Vec::new(),
            start: 0,
            id: None,
            event: None,
            data: None,
            max_event,
        }
    }

    fn held(&self) -> usize {
        self.buf
            .len()
            .saturating_sub(self.start)
            .saturating_add(self.data.as_ref().map_or(0, String::len))
    }

    /// Appends received bytes.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), ClientError> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
        if self.held() > self.max_event {
            return Err(ClientError::Malformed(format!(
                "an event is larger than {} bytes",
                self.max_event
            )));
        }
        Ok(())
    }

    /// The next complete event, if the bytes so far hold one.
    pub(crate) fn next_event(&mut self) -> Result<Option<SseEvent>, ClientError> {
        loop {
            let rest = self.buf.get(self.start..).unwrap_or_default();
            let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
                return Ok(None);
            };
            let line = rest.get(..newline).unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = std::str::from_utf8(line)
                .map_err(|_| ClientError::Malformed("an event line is not UTF-8".into()))?
                .to_owned();
            self.start = self.start.saturating_add(newline).saturating_add(1);
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    return Ok(Some(SseEvent {
                        id: self.id.take(),
                        event: self.event.take().unwrap_or_else(|| "message".into()),
                        data,
                    }));
                }
                self.id = None;
                self.event = None;
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_str(), ""),
            };
            match field {
                "id" => self.id = Some(value.to_owned()),
                "event" => self.event = Some(value.to_owned()),
                "data" => match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                },
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn all(parser: &mut SseParser) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(e) = parser.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn parses_events_split_anywhere() {
        let text = b": keep-alive\n\nid: 5\nevent: block\ndata: {\"a\":1}\n\nid:6\r\nevent:block\r\ndata: x\r\ndata: y\r\n\r\nretry: 10\n\n";
        for split in 0..text.len() {
            let mut p = SseParser::new(1024);
            p.push(&text[..split]).unwrap();
            let mut events = all(&mut p);
            p.push(&text[split..]).unwrap();
            events.extend(all(&mut p));
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        id: Some("5".into()),
                        event: "block".into(),
                        data: "{\"a\":1}".into()
                    },
                    SseEvent {
                        id: Some("6".into()),
                        event: "block".into(),
                        data: "x\ny".into()
                    },
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut p = SseParser::new(16);
        p.push(b"data: 0123456789").unwrap();
        assert!(p.push(b"abcdefgh").is_err());
        let mut p = SseParser::new(20);
        p.push(b"data: 0123456789\n").unwrap();
        assert!(p.next_event().unwrap().is_none());
        assert!(p.push(b"data: 0123456789\n").is_err());
    }

    #[test]
    fn non_utf8_is_an_error_not_a_panic() {
        let mut p = SseParser::new(64);
        p.push(b"data: \xff\xfe\n\n").unwrap();
        assert!(p.next_event().is_err());
    }
}
