//! CSV records out of a byte stream, with the csv-core parser (RFC 4180: quoted fields with
//! delimiters, doubled quotes and line breaks; `\n`, `\r` or `\r\n` line ends; a UTF-8 BOM at
//! the start is skipped; blank lines between records are skipped). Each record keeps its exact
//! bytes in the file (a slice of the read buffer, no copy) and the line it starts on.

use crate::file_error::file_error;
use csv_core::ReadRecordResult;
use std::io::Read;
use std::path::PathBuf;
use weir_topology::connect::Bytes;
use weir_topology::Result;

/// Bytes read from the file at a time.
const CHUNK_BYTES: u64 = 1 << 20;

/// One CSV record: its bytes in the file and its unescaped fields.
#[derive(Debug, Clone)]
pub(crate) struct CsvRecord {
    /// The record as written in the file, without its line end (quotes and all).
    pub raw: Bytes,
    /// The line (1-based) the record starts on.
    pub line: u64,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvRecord {
    /// The number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i`, unescaped (quotes removed, doubled quotes made single).
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.fields.get(start..end)
    }

    /// The fields as UTF-8 strings, or `None` when one is not UTF-8.
    pub fn strings(&self) -> Option<Vec<String>> {
        (0..self.len())
            .map(|i| {
                let f = self.field(i)?;
                std::str::from_utf8(f).ok().map(str::to_string)
            })
            .collect()
    }
}

/// Reads CSV records one at a time.
pub(crate) struct CsvRecords {
    input: Box<dyn Read + Send>,
    path: PathBuf,
    parser: csv_core::Reader,
    /// Read and not yet handed out: the record being parsed starts at `record_start`, the
    /// parser has consumed up to `pos`.
    chunk: Bytes,
    record_start: usize,
    pos: usize,
    /// Line breaks before `record_start`.
    newlines: u64,
    eof: bool,
    /// Whether a UTF-8 byte order mark at the start was looked for.
    bom_checked: bool,
    /// Bytes read at a time.
    chunk_bytes: u64,
    fields: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvRecords {
    /// Records of `input` (the file at `path`, for errors), fields separated by `delimiter`.
    pub fn new(input: Box<dyn Read + Send>, path: PathBuf, delimiter: u8) -> Self {
        Self {
            input,
            path,
            parser: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            chunk: Bytes::new(),
            record_start: 0,
            pos: 0,
            newlines: 0,
            eof: false,
            bom_checked: false,
            chunk_bytes: CHUNK_BYTES,
            fields: vec![0; 1024],
            ends: vec![0; 32],
        }
    }

    /// The next record, or `None` at the end of the file.
    pub fn next_record(&mut self) -> Result<Option<CsvRecord>> {
        self.skip_bom()?;
        let (mut out, mut nends) = (0, 0);
        loop {
            if self.pos == self.chunk.len() && !self.eof {
                self.refill()?;
                continue;
            }
            let input = &self.chunk[self.pos..];
            let (result, nin, nout, nend) =
                self.parser
                    .read_record(input, &mut self.fields[out..], &mut self.ends[nends..]);
            self.pos += nin;
            out += nout;
            nends += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.fields.len();
                    self.fields.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => return Ok(Some(self.take_record(out, nends))),
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    /// Skips a UTF-8 byte order mark at the start of the file (not part of the first field).
    fn skip_bom(&mut self) -> Result<()> {
        if self.bom_checked {
            return Ok(());
        }
        while self.chunk.len() < 3 && !self.eof {
            self.refill()?;
        }
        if self.chunk.starts_with(b"\xef\xbb\xbf") {
            self.record_start = 3;
            self.pos = 3;
        }
        self.bom_checked = true;
        Ok(())
    }

    /// The record parsed from `record_start` to `pos`, with `out` field bytes in `nends` fields.
    fn take_record(&mut self, out: usize, nends: usize) -> CsvRecord {
        let mut raw = self.chunk.slice(self.record_start..self.pos);
        self.record_start = self.pos;
        // Blank lines before the record, and the line break that ends it, are not its bytes.
        let lead = raw
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .unwrap_or(raw.len());
        let lead_newlines = memchr::memchr_iter(b'\n', &raw[..lead]).count() as u64;
        let line = 1 + self.newlines + lead_newlines;
        self.newlines += memchr::memchr_iter(b'\n', &raw).count() as u64;
        let _ = raw.split_to(lead);
        while matches!(raw.last(), Some(b'\r' | b'\n')) {
            raw.truncate(raw.len() - 1);
        }
        CsvRecord {
            raw,
            line,
            fields: self.fields[..out].to_vec(),
            ends: self.ends[..nends].to_vec(),
        }
    }

    /// Reads the next chunk after the unfinished record (the only bytes copied).
    fn refill(&mut self) -> Result<()> {
        let kept = &self.chunk[self.record_start..];
        let mut next = Vec::with_capacity(kept.len() + self.chunk_bytes as usize);
        next.extend_from_slice(kept);
        let read = (&mut self.input)
            .take(self.chunk_bytes)
            .read_to_end(&mut next)
            .map_err(|e| file_error(&self.path, e))?;
        self.eof = read == 0;
        self.pos -= self.record_start;
        self.record_start = 0;
        self.chunk = Bytes::from(next);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Reads `text` with the parser fed `chunk` bytes at a time.
    fn records(text: &[u8], chunk: u64) -> Vec<(String, u64, Vec<String>)> {
        let input = Box::new(std::io::Cursor::new(text.to_vec()));
        let mut r = CsvRecords::new(input, "t.csv".into(), b',');
        r.chunk_bytes = chunk;
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            let raw = String::from_utf8(rec.raw.to_vec()).unwrap();
            out.push((raw, rec.line, rec.strings().unwrap()));
        }
        out
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks_with_their_lines() {
        let text = "\u{feff}\"id\",\"note\"\r\n1,\"a, \"\"b\"\"\nc\"\r\n\n2,\u{e9}\u{1f600}\n3,";
        for chunk in [1, 2, 3, 7, 1 << 20] {
            let got = records(text.as_bytes(), chunk);
            assert_eq!(
                got,
                vec![
                    (
                        "\"id\",\"note\"".into(),
                        1,
                        vec!["id".into(), "note".into()]
                    ),
                    (
                        "1,\"a, \"\"b\"\"\nc\"".into(),
                        2,
                        vec!["1".into(), "a, \"b\"\nc".into()]
                    ),
                    (
                        "2,\u{e9}\u{1f600}".into(),
                        5,
                        vec!["2".into(), "\u{e9}\u{1f600}".into()]
                    ),
                    ("3,".into(), 6, vec!["3".into(), String::new()]),
                ],
                "chunks of {chunk} bytes"
            );
        }
    }

    #[test]
    fn long_rows_grow_the_buffers() {
        let wide: Vec<String> = (0..100).map(|i| format!("{i}{}", "x".repeat(50))).collect();
        let text = format!("{}\n{}\n", wide.join(","), wide.join(","));
        let got = records(text.as_bytes(), 4096);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, 2);
        assert_eq!(got[1].2, wide);
    }

    #[test]
    fn an_empty_input_has_no_records() {
        assert!(records(b"", 10).is_empty());
        assert!(records(b"\n\r\n", 10).is_empty());
    }
}
