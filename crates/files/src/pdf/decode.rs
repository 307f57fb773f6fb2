//! Decoding a stream's filters a chunk at a time (ISO 32000-1 §7.4), every stage's output
//! counted against limits before the next chunk is made: a stream that would unpack to 2 GB
//! stops after the limit, having held a few tens of kilobytes at any moment.
//!
//! The decoders follow the parser behind the check (hayro-syntax) where it is lenient: LZW,
//! ASCIIHex, ASCII85 and RunLength stop where it stops. Flate is strict (a broken deflate stream
//! is reported, because hayro-syntax's own inflater reads on past errors).

use super::syntax::{Dict, Value};
use lzw::Lzw;

mod lzw;

/// A stream filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Filter {
    Flate,
    Lzw,
    AsciiHex,
    Ascii85,
    RunLength,
    /// DCT, JPX, JBIG2, CCITT fax: images, which the parser never decodes while reading the file.
    Image,
    Crypt,
    Unknown,
}

impl Filter {
    /// The filter a name stands for, abbreviations included (ISO 32000-1 Tables 6 and 94).
    pub(crate) fn from_name(name: &[u8]) -> Filter {
        match name {
            b"FlateDecode" | b"Fl" => Filter::Flate,
            b"LZWDecode" | b"LZW" => Filter::Lzw,
            b"ASCIIHexDecode" | b"AHx" => Filter::AsciiHex,
            b"ASCII85Decode" | b"A85" => Filter::Ascii85,
            b"RunLengthDecode" | b"RL" => Filter::RunLength,
            b"DCTDecode" | b"DCT" | b"JPXDecode" | b"JBIG2Decode" | b"CCITTFaxDecode" | b"CCF" => Filter::Image,
            b"Crypt" => Filter::Crypt,
            _ => Filter::Unknown,
        }
    }
}

/// A predictor (ISO 32000-1 Table 8), read as hayro-syntax reads it (each number a byte, a
/// larger one taken as absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Predictor {
    pub(crate) predictor: u8,
    pub(crate) colors: u8,
    pub(crate) bits: u8,
    pub(crate) columns: u64,
    pub(crate) early_change: bool,
}

impl Predictor {
    pub(crate) fn from_params(params: Option<&Dict>) -> Predictor {
        let byte = |key: &[u8], default: u8| match params.and_then(|p| p.int(key)) {
            Some(n) => u8::try_from(n).unwrap_or(default),
            None => default,
        };
        Predictor {
            predictor: byte(b"Predictor", 1),
            colors: byte(b"Colors", 1),
            bits: byte(b"BitsPerComponent", 8),
            columns: params.and_then(|p| p.int(b"Columns")).and_then(|n| u64::try_from(n).ok()).unwrap_or(1),
            early_change: params.and_then(|p| p.int(b"EarlyChange")).is_none_or(|n| n != 0),
        }
    }

    /// Bytes in one row of samples (`None` when absurd).
    pub(crate) fn row_bytes(&self) -> Option<u64> {
        let bits = u64::from(self.colors).checked_mul(u64::from(self.bits))?.checked_mul(self.columns)?;
        Some(bits.div_ceil(8))
    }

    /// Bytes per pixel as PNG filters see it (at least one).
    fn pixel_bytes(&self) -> usize {
        usize::from((u16::from(self.colors) * u16::from(self.bits)).div_ceil(8)).max(1)
    }
}

/// One filter of a stream's chain, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) filter: Filter,
    pub(crate) predictor: Predictor,
}

/// Why decoding stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Halt {
    /// A limit was passed.
    Limit,
    /// The data was not valid for the filter.
    Broken(Filter),
}

/// Counts the bytes one stream's stages make, against the stream's limit, a ratio to its input
/// and the budget shared by the whole file.
#[derive(Debug)]
pub(crate) struct Meter<'a> {
    pub(crate) made: u64,
    pub(crate) stream_limit: u64,
    /// `(floor, ratio)`: past `floor` bytes, at most `ratio` times the input.
    pub(crate) ratio: Option<(u64, u64)>,
    pub(crate) input: u64,
    pub(crate) total: &'a mut u64,
    pub(crate) total_limit: u64,
}

impl Meter<'_> {
    fn count(&mut self, n: usize) -> Result<(), Halt> {
        let n = n as u64;
        self.made += n;
        *self.total += n;
        let ratio_passed = self
            .ratio
            .is_some_and(|(floor, ratio)| self.made > floor && self.made > ratio.saturating_mul(self.input.max(1)));
        if self.made > self.stream_limit || *self.total > self.total_limit || ratio_passed {
            return Err(Halt::Limit);
        }
        Ok(())
    }
}

type Out<'o> = dyn FnMut(&[u8]) -> Result<(), Halt> + 'o;

/// A decoding stage fed its input in pieces.
trait Stage {
    /// Decodes `input`; `Ok(false)` once the stage has reached its end and takes no more.
    fn push(&mut self, input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt>;
    /// The input has ended.
    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt>;
}

/// The most bytes of a predictor's row the pre-scan undoes (wider rows are left as they are).
pub(crate) const MAX_ROW: u64 = 1 << 20;

/// Decodes `input` through `steps`, handing the final bytes to `sink`; every stage's output is
/// counted by `meter`. The input, when no filter applies, is counted as it is (readers copy it).
pub(crate) fn run(
    steps: &[Step],
    input: &[u8],
    meter: &mut Meter<'_>,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), Halt> {
    let mut stages: Vec<Box<dyn Stage>> = Vec::new();
    for step in steps {
        stages.push(match step.filter {
            Filter::Flate => Box::new(Flate::new()),
            Filter::Lzw => Box::new(Lzw::new(step.predictor.early_change)),
            Filter::AsciiHex => Box::new(AsciiHex::default()),
            Filter::Ascii85 => Box::new(Ascii85::default()),
            Filter::RunLength => Box::new(RunLength::default()),
            Filter::Image | Filter::Crypt | Filter::Unknown => return Err(Halt::Broken(step.filter)),
        });
        let p = step.predictor;
        if matches!(step.filter, Filter::Flate | Filter::Lzw)
            && p.predictor != 1
            && let Some(row) = p.row_bytes().filter(|&r| r > 0 && r <= MAX_ROW)
        {
            stages.push(Box::new(Unpredict::new(p, row as usize)));
        }
    }
    if stages.is_empty() {
        meter.count(input.len())?;
        sink(input);
        return Ok(());
    }
    let mut alive = vec![true; stages.len()];
    for piece in input.chunks(64 * 1024) {
        if !alive[0] {
            break;
        }
        push(&mut stages, &mut alive, piece, meter, sink)?;
    }
    for i in 0..stages.len() {
        finish_one(&mut stages[i..], &mut alive[i..], meter, sink)?;
    }
    Ok(())
}

fn push(
    stages: &mut [Box<dyn Stage>],
    alive: &mut [bool],
    input: &[u8],
    meter: &mut Meter<'_>,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), Halt> {
    let (Some((first, rest)), Some((first_alive, rest_alive))) = (stages.split_first_mut(), alive.split_first_mut())
    else {
        sink(input);
        return Ok(());
    };
    if !*first_alive {
        return Ok(());
    }
    let more = first.push(input, &mut |out: &[u8]| {
        meter.count(out.len())?;
        push(rest, rest_alive, out, meter, sink)
    })?;
    if !more {
        *first_alive = false;
        first.finish(&mut |out: &[u8]| {
            meter.count(out.len())?;
            push(rest, rest_alive, out, meter, sink)
        })?;
    }
    Ok(())
}

/// Ends the first of `stages` (when not already ended), sending what it still holds on.
fn finish_one(
    stages: &mut [Box<dyn Stage>],
    alive: &mut [bool],
    meter: &mut Meter<'_>,
    sink: &mut dyn FnMut(&[u8]),
) -> Result<(), Halt> {
    let (Some((first, rest)), Some((first_alive, rest_alive))) = (stages.split_first_mut(), alive.split_first_mut())
    else {
        return Ok(());
    };
    if *first_alive {
        *first_alive = false;
        first.finish(&mut |out: &[u8]| {
            meter.count(out.len())?;
            push(rest, rest_alive, out, meter, sink)
        })?;
    }
    Ok(())
}

/// Collects output into pieces of about 32 KiB before passing them on.
#[derive(Debug, Default)]
struct Pending(Vec<u8>);

impl Pending {
    const SIZE: usize = 32 * 1024;

    fn add(&mut self, bytes: &[u8], out: &mut Out<'_>) -> Result<(), Halt> {
        self.0.extend_from_slice(bytes);
        if self.0.len() >= Self::SIZE { self.flush(out) } else { Ok(()) }
    }

    fn flush(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        if !self.0.is_empty() {
            out(&self.0)?;
            self.0.clear();
        }
        Ok(())
    }
}

/// FlateDecode (RFC 1950/1951): a zlib header is skipped when the first two bytes are one, as
/// readers do, then the deflate data is inflated into a 32 KiB buffer at a time.
struct Flate {
    inflater: flate2::Decompress,
    head: Vec<u8>,
    started: bool,
    buffer: Vec<u8>,
}

impl Flate {
    fn new() -> Self {
        Flate { inflater: flate2::Decompress::new(false), head: Vec::new(), started: false, buffer: vec![0; 32 * 1024] }
    }

    fn inflate(&mut self, mut input: &[u8], out: &mut Out<'_>, finish: bool) -> Result<bool, Halt> {
        let flush = if finish { flate2::FlushDecompress::Finish } else { flate2::FlushDecompress::None };
        loop {
            let (before_in, before_out) = (self.inflater.total_in(), self.inflater.total_out());
            let status = self.inflater.decompress(input, &mut self.buffer, flush);
            let used = (self.inflater.total_in() - before_in) as usize;
            let made = (self.inflater.total_out() - before_out) as usize;
            input = &input[used..];
            if made > 0 {
                out(&self.buffer[..made])?;
            }
            match status {
                Ok(flate2::Status::StreamEnd) => return Ok(false),
                // Cut short: readers keep what came, so does the count.
                Err(_) if finish && used == 0 && made == 0 && input.is_empty() => return Ok(false),
                Err(_) => return Err(Halt::Broken(Filter::Flate)),
                Ok(_) if used == 0 && made == 0 => return Ok(true),
                Ok(_) => {}
            }
        }
    }
}

impl Stage for Flate {
    fn push(&mut self, input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt> {
        if self.started {
            return self.inflate(input, out, false);
        }
        self.head.extend_from_slice(input);
        if self.head.len() < 2 {
            return Ok(true);
        }
        self.start(out, false)
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        if !self.started {
            self.start(out, true)?;
        }
        self.inflate(&[], out, true).map(|_| ())
    }
}

impl Flate {
    fn start(&mut self, out: &mut Out<'_>, finish: bool) -> Result<bool, Halt> {
        self.started = true;
        let head = std::mem::take(&mut self.head);
        let zlib = match head.as_slice() {
            [cmf, flg, ..] => cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 && flg & 0x20 == 0,
            _ => false,
        };
        let data = if zlib { &head[2..] } else { &head[..] };
        self.inflate(data, out, finish)
    }
}

/// ASCIIHexDecode: up to `>`, white space skipped.
#[derive(Default)]
struct AsciiHex {
    high: Option<u8>,
    pending: Pending,
}

impl Stage for AsciiHex {
    fn push(&mut self, input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt> {
        for &b in input {
            if b == b'>' {
                self.finish(out)?;
                return Ok(false);
            }
            if super::syntax::is_white(b) {
                continue;
            }
            let d = super::syntax::hex_digit(b).ok_or(Halt::Broken(Filter::AsciiHex))?;
            match self.high.take() {
                Some(h) => self.pending.add(&[h << 4 | d], out)?,
                None => self.high = Some(d),
            }
        }
        Ok(true)
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        if let Some(h) = self.high.take() {
            self.pending.add(&[h << 4], out)?;
        }
        self.pending.flush(out)
    }
}

/// ASCII85Decode: groups of five, `z` for four zeros, `~` ends.
#[derive(Default)]
struct Ascii85 {
    group: Vec<u8>,
    pending: Pending,
}

impl Ascii85 {
    fn flush_group(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        let n = self.group.len();
        if n == 0 {
            return Ok(());
        }
        if n == 1 {
            return Err(Halt::Broken(Filter::Ascii85));
        }
        let mut value: u64 = 0;
        for i in 0..5 {
            let digit = self.group.get(i).map_or(84, |&c| u64::from(c - b'!'));
            value = value * 85 + digit;
        }
        let value = u32::try_from(value).map_err(|_| Halt::Broken(Filter::Ascii85))?;
        self.group.clear();
        self.pending.add(&value.to_be_bytes()[..n - 1], out)
    }
}

impl Stage for Ascii85 {
    fn push(&mut self, input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt> {
        for &b in input {
            match b {
                b'!'..=b'u' => {
                    self.group.push(b);
                    if self.group.len() == 5 {
                        self.flush_group(out)?;
                    }
                }
                b'z' => {
                    self.flush_group(out)?;
                    self.pending.add(&[0; 4], out)?;
                }
                b'~' => {
                    self.finish(out)?;
                    return Ok(false);
                }
                b if super::syntax::is_white(b) => {}
                _ => return Err(Halt::Broken(Filter::Ascii85)),
            }
        }
        Ok(true)
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        self.flush_group(out)?;
        self.pending.flush(out)
    }
}

/// RunLengthDecode: a length byte, then that many plus one bytes, or one byte repeated
/// 257 minus the length times; 128 ends.
#[derive(Default)]
struct RunLength {
    /// Literal bytes still to copy.
    literal: usize,
    /// A repeat count waiting for its byte.
    repeat: Option<usize>,
    pending: Pending,
}

impl Stage for RunLength {
    fn push(&mut self, mut input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt> {
        while let Some((&b, rest)) = input.split_first() {
            if self.literal > 0 {
                let take = self.literal.min(input.len());
                self.pending.add(&input[..take], out)?;
                self.literal -= take;
                input = &input[take..];
                continue;
            }
            input = rest;
            if let Some(times) = self.repeat.take() {
                for _ in 0..times {
                    self.pending.add(&[b], out)?;
                }
                continue;
            }
            match b {
                128 => {
                    self.pending.flush(out)?;
                    return Ok(false);
                }
                0..=127 => self.literal = usize::from(b) + 1,
                _ => self.repeat = Some(257 - usize::from(b)),
            }
        }
        Ok(true)
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        self.pending.flush(out)
    }
}

/// Undoes a PNG (10–15) or TIFF (2, 8 bits per sample) predictor row by row, so that what a
/// predictor hid is scanned as it will be read. Others pass through unchanged.
struct Unpredict {
    png: bool,
    tiff: bool,
    pixel: usize,
    row: usize,
    current: Vec<u8>,
    previous: Vec<u8>,
    pending: Pending,
}

impl Unpredict {
    fn new(p: Predictor, row: usize) -> Self {
        let png = p.predictor >= 10;
        let tiff = p.predictor == 2 && p.bits == 8;
        Unpredict {
            png,
            tiff,
            pixel: if png { p.pixel_bytes() } else { usize::from(p.colors).max(1) },
            row,
            current: Vec::with_capacity(row + 1),
            previous: vec![0; row],
            pending: Pending::default(),
        }
    }

    fn row_done(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        let bpp = self.pixel;
        if self.png {
            let kind = self.current[0];
            let (prev, cur) = (&self.previous, &mut self.current[1..]);
            for i in 0..cur.len() {
                let a = if i >= bpp { cur[i - bpp] } else { 0 };
                let b = prev[i];
                let c = if i >= bpp { prev[i - bpp] } else { 0 };
                cur[i] = match kind {
                    1 => cur[i].wrapping_add(a),
                    2 => cur[i].wrapping_add(b),
                    3 => cur[i].wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                    4 => cur[i].wrapping_add(paeth(a, b, c)),
                    _ => cur[i],
                };
            }
            self.previous.copy_from_slice(&self.current[1..]);
        } else {
            if self.tiff {
                for i in bpp..self.current.len() {
                    self.current[i] = self.current[i].wrapping_add(self.current[i - bpp]);
                }
            }
            self.previous.copy_from_slice(&self.current);
        }
        self.current.clear();
        self.pending.add(&self.previous, out)
    }
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

impl Stage for Unpredict {
    fn push(&mut self, mut input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt> {
        let full = self.row + usize::from(self.png);
        while !input.is_empty() {
            let take = (full - self.current.len()).min(input.len());
            self.current.extend_from_slice(&input[..take]);
            input = &input[take..];
            if self.current.len() == full {
                self.row_done(out)?;
            }
        }
        Ok(true)
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        // A part row is dropped, as readers drop it.
        self.pending.flush(out)
    }
}

/// The steps of a chain as a stream dictionary gives them: `/Filter` a name or an array, with
/// `/DecodeParms` a dictionary or an array beside it (ISO 32000-1 Table 5).
pub(crate) fn steps(filter: Option<&Value>, params: Option<&Value>) -> Option<Vec<Step>> {
    let dict_of = |v: Option<&Value>| match v {
        Some(Value::Dict(d)) => Some(d.clone()),
        _ => None,
    };
    match filter {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Name(name)) => {
            let params = dict_of(params);
            Some(vec![Step { filter: Filter::from_name(name), predictor: Predictor::from_params(params.as_ref()) }])
        }
        Some(Value::Array(names)) => {
            let params: Vec<Option<Dict>> = match params {
                Some(Value::Array(items)) => items.iter().map(|v| dict_of(Some(v))).collect(),
                _ => Vec::new(),
            };
            names
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Name(name) => Some(Step {
                        filter: Filter::from_name(name),
                        predictor: Predictor::from_params(params.get(i).and_then(Option::as_ref)),
                    }),
                    _ => None,
                })
                .collect()
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(steps: &[Step], input: &[u8]) -> Result<Vec<u8>, Halt> {
        let mut total = 0;
        let mut meter = Meter {
            made: 0,
            stream_limit: 1 << 30,
            ratio: None,
            input: input.len() as u64,
            total: &mut total,
            total_limit: 1 << 30,
        };
        let mut got = Vec::new();
        run(steps, input, &mut meter, &mut |b: &[u8]| got.extend_from_slice(b))?;
        Ok(got)
    }

    fn step(filter: Filter) -> Step {
        Step { filter, predictor: Predictor::from_params(None) }
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn filters_decode_as_readers_do() {
        // ISO 32000-1 §7.4.4.2's example: 45 45 45 45 45 65 45 45 45 66.
        let lzw = decode(&[step(Filter::Lzw)], &[0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01]).unwrap();
        assert_eq!(lzw, b"-----A---B");
        assert_eq!(decode(&[step(Filter::AsciiHex)], b"48 65 6C6c 6>").unwrap(), b"Hell`");
        assert_eq!(decode(&[step(Filter::Ascii85)], b"87cURD]j7BEbo7~>").unwrap(), b"Hello world");
        assert_eq!(decode(&[step(Filter::Ascii85)], b"z~>").unwrap(), [0; 4]);
        assert_eq!(
            decode(&[step(Filter::RunLength)], &[4, 10, 11, 12, 13, 14, 253, 3, 128]).unwrap(),
            [10, 11, 12, 13, 14, 3, 3, 3, 3]
        );
        let text = b"1 0 obj << /Type /Page >> endobj ".repeat(5000);
        assert_eq!(decode(&[step(Filter::Flate)], &zlib(&text)).unwrap(), text);
        // A zlib stream wrapped in ASCIIHex, as old writers did.
        let hex: Vec<u8> = hex::encode(zlib(&text)).into_bytes();
        assert_eq!(decode(&[step(Filter::AsciiHex), step(Filter::Flate)], &hex).unwrap(), text);
        // Cut short: what came is kept. Garbage: broken.
        let z = zlib(&text);
        assert!(decode(&[step(Filter::Flate)], &z[..z.len() / 2]).unwrap().len() > 1000);
        assert_eq!(decode(&[step(Filter::Flate)], b"\x78\x9c\xff\xff\xff\xff"), Err(Halt::Broken(Filter::Flate)));
    }

    #[test]
    fn png_predictors_are_undone() {
        // Two rows of three bytes, Up-filtered: the second row adds to the first.
        let rows = [2, 1, 2, 3, 2, 1, 1, 1];
        let mut p = Predictor::from_params(None);
        (p.predictor, p.columns) = (12, 3);
        let got = decode(&[Step { filter: Filter::Flate, predictor: p }], &zlib(&rows)).unwrap();
        assert_eq!(got, [1, 2, 3, 2, 3, 4]);
    }

    #[test]
    fn limits_stop_decoding_early() {
        let zeros = zlib(&vec![0; 4 << 20]);
        let mut total = 0;
        let mut meter = Meter {
            made: 0,
            stream_limit: 1 << 20,
            ratio: None,
            input: zeros.len() as u64,
            total: &mut total,
            total_limit: 1 << 30,
        };
        let mut seen = 0;
        let r = run(&[step(Filter::Flate)], &zeros, &mut meter, &mut |b: &[u8]| seen += b.len());
        assert_eq!(r, Err(Halt::Limit));
        assert!(seen <= 1 << 20, "{seen}");
        // By ratio: 4 MiB from a few kilobytes.
        let mut total = 0;
        let mut meter = Meter {
            made: 0,
            stream_limit: 1 << 30,
            ratio: Some((1 << 20, 100)),
            input: zeros.len() as u64,
            total: &mut total,
            total_limit: 1 << 30,
        };
        assert_eq!(run(&[step(Filter::Flate)], &zeros, &mut meter, &mut |_: &[u8]| {}), Err(Halt::Limit));
        assert!(meter.made < 2 << 20);
    }
}
