//! The Merkle trees of a block's commitments (the namespace table and the bundle table): RFC
//! 6962 shape over keccak256, leaves hashed by their owner with a `0x00` prefix, inner nodes
//! `keccak256(0x01 || left || right)`.

use alloy_primitives::{keccak256, B256};

use crate::error::Error;

const NODE_PREFIX: u8 = 0x01;

/// `keccak256(0x01 || left || right)`.
pub(crate) fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 1 + 32 + 32];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// All levels of the tree over `leaves`, bottom up: each level pairs neighbours and carries an
/// odd last node up unchanged (which is exactly the RFC 6962 shape). The last level holds the
/// root, or nothing for an empty tree.
pub(crate) fn build_levels(leaves: Vec<B256>) -> Vec<Vec<B256>> {
    let mut levels = Vec::new();
    let mut level = leaves;
    while level.len() > 1 {
        let next: Vec<B256> = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node_hash(left, right),
                [single] => *single,
                _ => B256::ZERO,
            })
            .collect();
        levels.push(level);
        level = next;
    }
    levels.push(level);
    levels
}

/// Audit path of the leaf at `index` in a tree built by [`build_levels`], bottom up.
pub(crate) fn path(levels: &[Vec<B256>], index: usize) -> Vec<B256> {
    let mut path = Vec::new();
    let mut i = index;
    for level in levels.iter().take(levels.len().saturating_sub(1)) {
        if let Some(sibling) = level.get(i ^ 1) {
            path.push(*sibling);
        }
        i >>= 1;
    }
    path
}

/// The root of a tree built by [`build_levels`]: 32 zero bytes for an empty tree.
pub(crate) fn root(levels: &[Vec<B256>]) -> B256 {
    match levels.last().map(Vec::as_slice) {
        Some([root]) => *root,
        _ => B256::ZERO,
    }
}

/// Checks that `leaf` at `index` of a `size`-leaf tree hashes up to `root` through `path`.
pub(crate) fn check_path(
    index: u32,
    size: u32,
    leaf: B256,
    path: &[B256],
    root: &B256,
) -> Result<(), Error> {
    if index >= size {
        return Err(Error::InvalidProof("leaf index out of range"));
    }
    match root_from_path(index, size, leaf, path) {
        Some(computed) if computed == *root => Ok(()),
        Some(_) => Err(Error::InvalidProof("root mismatch")),
        None => Err(Error::InvalidProof("audit path has the wrong length")),
    }
}

/// Recomputes the root of a `size`-leaf RFC 6962 tree (`index < size`) from a leaf and its
/// bottom-up audit path, following the recursive definition: the left subtree holds the
/// largest power of two below `size`. `None` when the path length does not fit the shape.
fn root_from_path(index: u32, size: u32, leaf: B256, path: &[B256]) -> Option<B256> {
    if size <= 1 {
        return path.is_empty().then_some(leaf);
    }
    let split = largest_power_of_two_below(size);
    let (sibling, rest) = path.split_last()?;
    if index < split {
        Some(node_hash(
            &root_from_path(index, split, leaf, rest)?,
            sibling,
        ))
    } else {
        let right = root_from_path(
            index.checked_sub(split)?,
            size.checked_sub(split)?,
            leaf,
            rest,
        )?;
        Some(node_hash(sibling, &right))
    }
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn largest_power_of_two_below(n: u32) -> u32 {
    let bits = u32::BITS.saturating_sub(n.saturating_sub(1).leading_zeros());
    1u32.checked_shl(bits.saturating_sub(1)).unwrap_or(1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// RFC 6962 `MTH`, written from the definition, to check the level-by-level builder.
    pub(crate) fn reference_root(leaves: &[B256]) -> B256 {
        match leaves {
            [] => B256::ZERO,
            [leaf] => *leaf,
            _ => {
                let mut k = 1;
                while k * 2 < leaves.len() {
                    k *= 2;
                }
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn levels_match_the_recursive_definition() {
        for n in 0..70u64 {
            let leaves: Vec<B256> = (0..n).map(|i| keccak256(i.to_be_bytes())).collect();
            let levels = build_levels(leaves.clone());
            assert_eq!(root(&levels), reference_root(&leaves), "n = {n}");
            for i in 0..n as usize {
                let path = path(&levels, i);
                assert_eq!(
                    root_from_path(i as u32, n as u32, leaves[i], &path),
                    Some(reference_root(&leaves)),
                    "n = {n}, i = {i}"
                );
            }
        }
    }

    #[test]
    fn power_of_two_split() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(8), 4);
        assert_eq!(largest_power_of_two_below(9), 8);
        assert_eq!(largest_power_of_two_below(u32::MAX), 1 << 31);
    }
}
