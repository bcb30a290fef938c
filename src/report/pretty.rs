//! JSON laid out as `serde_json::to_string_pretty` lays it out, written faster: the JSON
//! and SARIF reports of a large repository are tens of megabytes.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// `value` as `serde_json::to_string_pretty` writes it.
pub fn to_pretty_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        Pretty::default(),
    ))?;
    // serde_json writes valid UTF-8.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()))
}

/// The layout of `serde_json::to_string_pretty` (two spaces a level), each line break
/// written with its indentation at once rather than one write per level.
#[derive(Default)]
struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    /// A comma when `comma`, a line break, and the current level's indentation.
    fn line<W: ?Sized + io::Write>(&self, writer: &mut W, comma: bool) -> io::Result<()> {
        const LINE: &[u8] = b",\n                                                                ";
        let start = usize::from(!comma);
        match LINE.get(start..2 + 2 * self.level) {
            Some(line) => writer.write_all(line),
            None => {
                writer.write_all(LINE.get(start..2).unwrap_or_default())?;
                (0..self.level).try_for_each(|_| writer.write_all(b"  "))
            }
        }
    }

    fn begin<W: ?Sized + io::Write>(&mut self, writer: &mut W, open: &[u8]) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        writer.write_all(open)
    }

    fn end<W: ?Sized + io::Write>(&mut self, writer: &mut W, close: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.line(writer, false)?;
        }
        writer.write_all(close)
    }
}

impl Formatter for Pretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line(writer, !first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.begin(writer, b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.end(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line(writer, !first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// The layout is serde_json's pretty one, empty and nested containers and deep levels
    /// included.
    #[test]
    fn the_layout_is_serde_jsons_pretty_one() {
        let mut deep = json!("bottom");
        for level in 0..40 {
            deep = json!({ "level": level, "inner": [deep, [], {}], "empty": {} });
        }
        let document =
            json!({ "a": [1, [2, []], {"b": null}], "c": {}, "d": "x\n\"y\"", "deep": deep });
        assert_eq!(
            super::to_pretty_string(&document).unwrap_or_default(),
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
    }
}
