//! Fixed-size bitsets and a word-prefix index over a fixed set of documents
//! (products, posts): filters become bitset intersections, so a listing
//! never scans or clones the documents it does not return.

/// A set of document positions `0..len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits {
    words: Vec<u64>,
}

impl Bits {
    /// The empty set over `len` positions.
    pub fn empty(len: usize) -> Self {
        Self {
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// The full set over `len` positions.
    pub fn full(len: usize) -> Self {
        let mut bits = Self::empty(len);
        for i in 0..len {
            bits.insert(i);
        }
        bits
    }

    /// Adds position `i`.
    pub fn insert(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }

    /// Whether position `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// Keeps only the positions also in `other`.
    pub fn intersect(&mut self, other: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    /// Adds every position of `other`.
    pub fn union(&mut self, other: &Bits) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// How many positions are in the set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// The words of `text`: runs of ASCII letters and digits, lower-cased.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// A sorted vocabulary, each word with the documents that contain it.
#[derive(Debug)]
pub struct WordIndex {
    len: usize,
    vocabulary: Vec<(String, Bits)>,
}

impl WordIndex {
    /// Indexes `documents`, each given as the texts whose words it holds.
    pub fn build<'a, D, T>(documents: D) -> Self
    where
        D: IntoIterator<Item = T>,
        T: IntoIterator<Item = &'a str>,
    {
        let mut postings: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
        let mut len = 0;
        for (doc, texts) in documents.into_iter().enumerate() {
            len = doc + 1;
            for text in texts {
                for word in words(text) {
                    postings.entry(word).or_default().push(doc);
                }
            }
        }
        let vocabulary = postings
            .into_iter()
            .map(|(word, docs)| {
                let mut bits = Bits::empty(len);
                docs.into_iter().for_each(|d| bits.insert(d));
                (word, bits)
            })
            .collect();
        Self { len, vocabulary }
    }

    /// The documents matching every word of `query`, a query word matching
    /// any indexed word it is a prefix of (`lap` finds `laptop`). `None`
    /// when the query has no words.
    pub fn search(&self, query: &str) -> Option<Bits> {
        let mut result: Option<Bits> = None;
        for term in words(query) {
            let start = self
                .vocabulary
                .partition_point(|(w, _)| w.as_str() < term.as_str());
            let mut matches = Bits::empty(self.len);
            for (_, bits) in self.vocabulary[start..]
                .iter()
                .take_while(|(w, _)| w.starts_with(&term))
            {
                matches.union(bits);
            }
            match &mut result {
                Some(r) => r.intersect(&matches),
                None => result = Some(matches),
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bits_count_and_intersect() {
        let mut a = Bits::full(70);
        assert_eq!(a.count(), 70);
        assert!(!a.contains(70));
        let mut b = Bits::empty(70);
        b.insert(3);
        b.insert(69);
        a.intersect(&b);
        assert_eq!(a, b);
        assert!(a.contains(69) && !a.contains(4));
    }

    #[test]
    fn every_term_must_prefix_a_word() {
        let docs = [
            vec!["Smart Laptop 1", "Acme"],
            vec!["Classic Headphones 2"],
            vec!["Phone case", "laptop-bag"],
        ];
        let index = WordIndex::build(docs.iter().map(|d| d.iter().copied()));
        let ids = |q: &str| {
            let bits = index.search(q).unwrap();
            (0..3).filter(|&i| bits.contains(i)).collect::<Vec<_>>()
        };
        assert_eq!(ids("LAP"), [0, 2]);
        assert_eq!(ids("phone"), [2]); // not "headphones": prefixes only
        assert_eq!(ids("laptop acme"), [0]);
        assert_eq!(ids("zebra"), Vec::<usize>::new());
        assert!(index.search("  --  ").is_none());
    }
}
