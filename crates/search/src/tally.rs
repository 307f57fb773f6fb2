//! Facet counts from fast fields: a collector that tallies, for every matching document, the
//! term ordinals of a few string columns (and the depth), then names the ordinals that occurred.
//! Much cheaper than a hierarchical facet field when a broad query matches most of the index.

use std::collections::HashMap;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// The string columns tallied, in order, and the u64 depth column.
pub(crate) const COLUMNS: [&str; 6] = ["f_audience", "item_type", "level", "department_id", "region", "tag"];

/// Which of [`COLUMNS`] hold several values in a document (the others one at most).
const MULTI: [bool; 6] = [true, false, false, false, true, true];

/// Documents per kind; for the kind asked for, counts per value, per column of [`COLUMNS`],
/// and per depth.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tallies {
    pub kinds: HashMap<String, u64>,
    pub columns: Vec<HashMap<String, u64>>,
    pub depth: HashMap<u64, u64>,
}

impl Tallies {
    /// Matching documents of `kind`.
    pub fn kind_count(&self, kind: &str) -> u64 {
        self.kinds.get(kind).copied().unwrap_or(0)
    }
}

/// Counts the matching documents of each kind and tallies the values of [`COLUMNS`] over those
/// of `kind`.
pub(crate) struct Tally {
    pub kind: &'static str,
}

pub(crate) struct SegmentTally {
    kind_column: Option<StrColumn>,
    kinds: Vec<u32>,
    wanted: Option<u64>,
    columns: Vec<Option<(StrColumn, Vec<u32>)>>,
    depth: Option<Column<u64>>,
    depths: [u32; 6],
}

impl Collector for Tally {
    type Fruit = Tallies;
    type Child = SegmentTally;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentTally> {
        let fast = segment.fast_fields();
        let mut columns = Vec::with_capacity(COLUMNS.len());
        for name in COLUMNS {
            columns.push(fast.str(name)?.map(|c| {
                let n = c.num_terms();
                (c, vec![0u32; n])
            }));
        }
        let depth = fast.u64("depth").ok();
        let kind_column = fast.str("kind")?;
        let wanted = match &kind_column {
            Some(c) => c.dictionary().term_ord(self.kind.as_bytes())?,
            None => None,
        };
        let kinds = vec![0; kind_column.as_ref().map_or(0, |c| c.num_terms())];
        Ok(SegmentTally { kind_column, kinds, wanted, columns, depth, depths: [0; 6] })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Tallies>) -> tantivy::Result<Tallies> {
        let mut all =
            Tallies { kinds: HashMap::new(), columns: vec![HashMap::new(); COLUMNS.len()], depth: HashMap::new() };
        for fruit in fruits {
            for (kind, n) in fruit.kinds {
                *all.kinds.entry(kind).or_default() += n;
            }
            for (into, from) in all.columns.iter_mut().zip(fruit.columns) {
                for (value, n) in from {
                    *into.entry(value).or_default() += n;
                }
            }
            for (d, n) in fruit.depth {
                *all.depth.entry(d).or_default() += n;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentTally {
    type Fruit = Tallies;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(kind) = self.kind_column.as_ref().and_then(|c| c.ords().first(doc)) else { return };
        if let Some(slot) = self.kinds.get_mut(kind as usize) {
            *slot += 1;
        }
        if Some(kind) != self.wanted {
            return;
        }
        for (multi, (column, counts)) in
            MULTI.iter().zip(self.columns.iter_mut()).filter_map(|(m, c)| Some((m, c.as_mut()?)))
        {
            if *multi {
                for ord in column.term_ords(doc) {
                    if let Some(slot) = counts.get_mut(ord as usize) {
                        *slot += 1;
                    }
                }
            } else if let Some(ord) = column.ords().first(doc)
                && let Some(slot) = counts.get_mut(ord as usize)
            {
                *slot += 1;
            }
        }
        if let Some(depth) = &self.depth
            && let Some(d) = depth.first(doc)
            && let Some(slot) = self.depths.get_mut(d as usize)
        {
            *slot += 1;
        }
    }

    fn harvest(self) -> Tallies {
        let mut kinds = HashMap::new();
        if let Some(column) = &self.kind_column {
            let mut text = String::new();
            for (ord, n) in self.kinds.iter().enumerate().filter(|(_, n)| **n > 0) {
                text.clear();
                if column.ord_to_str(ord as u64, &mut text).unwrap_or(false) {
                    kinds.insert(text.clone(), u64::from(*n));
                }
            }
        }
        let mut columns = Vec::with_capacity(self.columns.len());
        for column in self.columns {
            let mut named = HashMap::new();
            if let Some((column, counts)) = column {
                // Name the ordinals that occurred in one pass over the dictionary.
                let ords: Vec<u64> = (0..counts.len() as u64).filter(|o| counts[*o as usize] > 0).collect();
                let mut values = ords.iter();
                let _ = column.dictionary().sorted_ords_to_term_cb(&ords, |term| {
                    if let Some(ord) = values.next() {
                        named.insert(String::from_utf8_lossy(term).into_owned(), u64::from(counts[*ord as usize]));
                    }
                });
            }
            columns.push(named);
        }
        let depth =
            self.depths.iter().enumerate().filter(|(_, n)| **n > 0).map(|(d, n)| (d as u64, u64::from(*n))).collect();
        Tallies { kinds, columns, depth }
    }
}
