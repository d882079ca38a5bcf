//! The HTTP messages inside WARC `response` records: status line and headers
//! split from the body, chunked transfer coding undone. Content codings
//! (gzip, deflate) are left alone in `body`, because the payload digest of a
//! WARC record is defined over the entity as sent; [`decode_content`] undoes
//! them for readers that want the page.

use std::io::{BufRead, Cursor, Read};

use crate::warc::{header, parse_header_lines, ParseFail};

/// A parsed HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Protocol, e.g. `HTTP/1.1`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Headers in order, names as written.
    pub headers: Vec<(String, String)>,
    /// Length of the head (status line, headers and the empty line) in the
    /// record block.
    pub head_len: usize,
    /// True when the body was sent with chunked transfer coding (undone in
    /// `body`).
    pub chunked: bool,
    /// The payload: the body with transfer coding undone.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The `Content-Type` header.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }
}

/// An HTTP message inside a record could not be parsed. Offsets are within
/// the record block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The status line is not `HTTP/x.y NNN reason`.
    #[error("bad HTTP status line {0:?}")]
    StatusLine(String),
    /// The header section is malformed or ends early.
    #[error("bad HTTP header: {0}")]
    Header(String),
    /// Chunked transfer coding is malformed.
    #[error("bad chunked encoding at block offset {offset}: {what}")]
    Chunked {
        /// Offset in the block.
        offset: usize,
        /// What is wrong.
        what: String,
    },
    /// Content coding could not be undone.
    #[error("cannot decode content encoding {encoding:?}: {what}")]
    ContentEncoding {
        /// The `Content-Encoding` value.
        encoding: String,
        /// What is wrong.
        what: String,
    },
}

/// Parses only the head of an HTTP response (status line + headers). Returns
/// the response with an empty body.
pub(crate) fn parse_head(block: &[u8]) -> Result<HttpResponse, HttpError> {
    let mut c = Cursor::new(block);
    let mut line = Vec::new();
    c.by_ref()
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .map_err(|e| HttpError::Header(e.to_string()))?;
    let l = String::from_utf8_lossy(&line);
    let l = l.trim_end_matches(['\r', '\n']);
    let mut parts = l.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts.next().unwrap_or("");
    let reason = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") || status.len() != 3 {
        return Err(HttpError::StatusLine(l.chars().take(80).collect()));
    }
    let status: u16 = status.parse().map_err(|_| HttpError::StatusLine(l.chars().take(80).collect()))?;
    let headers = parse_header_lines(&mut c, 0).map_err(|e| match e {
        ParseFail::Io(e) => HttpError::Header(e.to_string()),
        ParseFail::Truncated { what, .. } | ParseFail::Bad { what, .. } | ParseFail::Boundary { what, .. } | ParseFail::Short { what, .. } => HttpError::Header(what),
    })?;
    let head_len = usize::try_from(c.position()).unwrap_or(block.len());
    let chunked = header(&headers, "Transfer-Encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    Ok(HttpResponse {
        version: version.to_owned(),
        status,
        reason: reason.to_owned(),
        headers,
        head_len,
        chunked,
        body: Vec::new(),
    })
}

/// Parses an HTTP response message (a `response` record block).
pub fn parse_response(block: &[u8]) -> Result<HttpResponse, HttpError> {
    let mut resp = parse_head(block)?;
    let rest = block.get(resp.head_len..).unwrap_or(&[]);
    resp.body = if resp.chunked { dechunk(rest, resp.head_len)? } else { rest.to_vec() };
    Ok(resp)
}

/// Undoes chunked transfer coding. `base` is added to error offsets.
pub fn dechunk(data: &[u8], base: usize) -> Result<Vec<u8>, HttpError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    let err = |pos: usize, what: &str| HttpError::Chunked { offset: base + pos, what: what.to_owned() };
    loop {
        let rest = data.get(pos..).unwrap_or(&[]);
        let Some(eol) = rest.iter().position(|&b| b == b'\n') else {
            return Err(err(pos, "missing chunk size line"));
        };
        let line = String::from_utf8_lossy(rest.get(..eol).unwrap_or(&[]));
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| err(pos, "bad chunk size"))?;
        pos += eol + 1;
        if size == 0 {
            // Trailers, if any, are ignored; the message ends here.
            return Ok(out);
        }
        let end = pos.checked_add(size).ok_or_else(|| err(pos, "chunk size overflows"))?;
        let Some(chunk) = data.get(pos..end) else {
            return Err(err(pos, "chunk runs past the end of the record"));
        };
        out.extend_from_slice(chunk);
        pos = end;
        // Chunk data is followed by CRLF (be lenient about a bare LF).
        let after = data.get(pos..).unwrap_or(&[]);
        if after.starts_with(b"\r\n") {
            pos += 2;
        } else if after.starts_with(b"\n") {
            pos += 1;
        } else if after.is_empty() {
            // Some recorders drop the final zero chunk; keep what we have.
            return Ok(out);
        } else {
            return Err(err(pos, "chunk data not followed by CRLF"));
        }
    }
}

/// Largest decoded body [`decode_content`] produces; captured pages are
/// hostile and a few kilobytes of gzip can expand to gigabytes.
pub const MAX_DECODED: u64 = 256 * 1024 * 1024;

/// Undoes a `Content-Encoding` (`gzip`, `x-gzip`, `deflate`, `identity`).
/// Refuses output larger than [`MAX_DECODED`].
pub fn decode_content(body: &[u8], content_encoding: Option<&str>) -> Result<Vec<u8>, HttpError> {
    let enc = content_encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    let fail = |what: String| HttpError::ContentEncoding { encoding: enc.clone(), what };
    let mut out = Vec::new();
    let limited = |r: &mut dyn Read, out: &mut Vec<u8>| r.take(MAX_DECODED + 1).read_to_end(out);
    match enc.as_str() {
        "" | "identity" => return Ok(body.to_vec()),
        "gzip" | "x-gzip" => {
            limited(&mut flate2::read::MultiGzDecoder::new(body), &mut out).map_err(|e| fail(e.to_string()))?;
        }
        "deflate" => {
            // Servers send either zlib-wrapped (as the RFC says) or raw deflate.
            if limited(&mut flate2::read::ZlibDecoder::new(body), &mut out).is_err() {
                out.clear();
                limited(&mut flate2::read::DeflateDecoder::new(body), &mut out).map_err(|e| fail(e.to_string()))?;
            }
        }
        other => return Err(fail(format!("unsupported encoding {other:?}"))),
    }
    if out.len() as u64 > MAX_DECODED {
        return Err(fail(format!("decoded body exceeds {MAX_DECODED} bytes")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_response() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>hi</p>").unwrap();
        assert_eq!((r.status, r.content_type(), r.body.as_slice()), (200, Some("text/html"), &b"<p>hi</p>"[..]));
        assert!(!r.chunked);
    }

    #[test]
    fn chunked_response_is_decoded() {
        let block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let r = parse_response(block).unwrap();
        assert_eq!(r.body, b"hello, world");
        assert!(r.chunked);
    }

    #[test]
    fn bad_chunk_size_names_offset() {
        let block = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        match parse_response(block) {
            Err(HttpError::Chunked { offset, .. }) => assert_eq!(offset, 47),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_status_line() {
        assert!(matches!(parse_response(b"GET / HTTP/1.1\r\n\r\n"), Err(HttpError::StatusLine(_))));
    }

    #[test]
    fn gzip_content_encoding() {
        let z = crate::warc::gzip_member(b"page").unwrap();
        assert_eq!(decode_content(&z, Some("gzip")).unwrap(), b"page");
        assert!(decode_content(b"x", Some("br")).is_err());
    }
}
