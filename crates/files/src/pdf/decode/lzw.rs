//! The LZW stage of stream decoding, apart for its length: a code table rebuilt as it reads.

use super::{Filter, Halt, Out, Pending, Stage};

/// LZWDecode (ISO 32000-1 §7.4.4.2): 9- to 12-bit codes, most significant bit first.
pub(super) struct Lzw {
    early_change: bool,
    /// Each entry: the entry it extends, its last byte, its length.
    prefix: Vec<u16>,
    last: Vec<u8>,
    length: Vec<u16>,
    previous: Option<u16>,
    bits: u32,
    held: u32,
    entry: Vec<u8>,
    pending: Pending,
}

const LZW_CLEAR: u16 = 256;
const LZW_END: u16 = 257;
const LZW_MAX: usize = 4096;

impl Lzw {
    pub(super) fn new(early_change: bool) -> Self {
        let mut lzw = Lzw {
            early_change,
            prefix: Vec::with_capacity(LZW_MAX),
            last: Vec::with_capacity(LZW_MAX),
            length: Vec::with_capacity(LZW_MAX),
            previous: None,
            bits: 0,
            held: 0,
            entry: Vec::with_capacity(LZW_MAX),
            pending: Pending::default(),
        };
        lzw.clear();
        lzw
    }

    fn clear(&mut self) {
        self.prefix.clear();
        self.last.clear();
        self.length.clear();
        for b in 0..=255u8 {
            self.prefix.push(0);
            self.last.push(b);
            self.length.push(1);
        }
        // Clear-table and end-of-data hold nothing.
        for _ in 0..2 {
            self.prefix.push(0);
            self.last.push(0);
            self.length.push(0);
        }
        self.previous = None;
    }

    fn code_width(&self) -> u32 {
        let size = self.last.len() + usize::from(self.early_change);
        match size {
            2048.. => 12,
            1024.. => 11,
            512.. => 10,
            _ => 9,
        }
    }

    fn register(&mut self, previous: u16, byte: u8) -> bool {
        if self.last.len() >= LZW_MAX {
            return false;
        }
        self.prefix.push(previous);
        self.last.push(byte);
        self.length.push(self.length[usize::from(previous)].saturating_add(1));
        true
    }

    /// Writes the bytes of `code` into `self.entry`.
    fn spell(&mut self, code: u16) {
        let len = usize::from(self.length[usize::from(code)]);
        self.entry.clear();
        self.entry.resize(len, 0);
        let mut c = code;
        for i in (0..len).rev() {
            self.entry[i] = self.last[usize::from(c)];
            c = self.prefix[usize::from(c)];
        }
    }

    /// One code; `Ok(false)` at the end of the data.
    fn code(&mut self, code: u16, out: &mut Out<'_>) -> Result<bool, Halt> {
        let size = self.last.len();
        match code {
            LZW_CLEAR => {
                self.clear();
                return Ok(true);
            }
            LZW_END => return Ok(false),
            c if usize::from(c) < size => {
                if self.length[usize::from(c)] == 0 {
                    return Err(Halt::Broken(Filter::Lzw));
                }
                self.spell(c);
                let first = self.entry[0];
                if let Some(p) = self.previous {
                    self.register(p, first);
                }
            }
            c if usize::from(c) == size => {
                let Some(p) = self.previous else { return Err(Halt::Broken(Filter::Lzw)) };
                self.spell(p);
                let first = self.entry[0];
                if !self.register(p, first) {
                    return Err(Halt::Broken(Filter::Lzw));
                }
                self.spell(c);
            }
            _ => return Err(Halt::Broken(Filter::Lzw)),
        }
        let entry = std::mem::take(&mut self.entry);
        let added = self.pending.add(&entry, out);
        self.entry = entry;
        added?;
        self.previous = Some(code);
        Ok(true)
    }
}

impl Stage for Lzw {
    fn push(&mut self, input: &[u8], out: &mut Out<'_>) -> Result<bool, Halt> {
        for &b in input {
            self.held = (self.held << 8 | u32::from(b)) & 0x00ff_ffff;
            self.bits += 8;
            loop {
                let width = self.code_width();
                if self.bits < width {
                    break;
                }
                let code = ((self.held >> (self.bits - width)) & ((1 << width) - 1)) as u16;
                self.bits -= width;
                if !self.code(code, out)? {
                    self.pending.flush(out)?;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn finish(&mut self, out: &mut Out<'_>) -> Result<(), Halt> {
        self.pending.flush(out)
    }
}
