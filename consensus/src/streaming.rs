//! Reassembly of proposal streams: `Init`, `Data` chunks and `Fin`, possibly out of order.
//!
//! Memory is bounded: a stream larger than the block limit is dropped, and so is the oldest
//! stream when too many are open at once.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::PeerId;
use ordo_types::Signature;

use crate::context::{ProposalInit, ProposalPart};

/// A complete proposal stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assembled {
    /// The peer that published the stream (gossipsub's signed source).
    pub(crate) publisher: PeerId,
    pub(crate) init: ProposalInit,
    pub(crate) block_bytes: Vec<u8>,
    /// The senders' claimed keys (see [`ProposalPart::Keys`]), empty if none were sent.
    pub(crate) keys: Vec<u8>,
    pub(crate) signature: Signature,
}

#[derive(Default)]
struct Partial {
    parts: BTreeMap<u64, ProposalPart>,
    end: Option<u64>,
    bytes: usize,
}

impl Partial {
    /// The proposal, once every sequence number before the end marker has arrived.
    fn assemble(&mut self, publisher: PeerId) -> Option<Result<Assembled, &'static str>> {
        let end = self.end?;
        if self.parts.len() as u64 != end {
            return None;
        }
        let parts = std::mem::take(&mut self.parts);
        let mut parts = parts.into_values();
        let Some(ProposalPart::Init(init)) = parts.next() else {
            return Some(Err("stream does not start with Init"));
        };
        let mut block_bytes = Vec::with_capacity(self.bytes);
        let mut keys = Vec::new();
        let mut signature = None;
        for part in parts {
            match (part, signature) {
                (ProposalPart::Data(chunk), None) if keys.is_empty() => {
                    block_bytes.extend_from_slice(&chunk)
                }
                (ProposalPart::Keys(chunk), None) => keys.extend_from_slice(&chunk),
                (ProposalPart::Fin(sig), None) => signature = Some(sig),
                _ => return Some(Err("parts out of order")),
            }
        }
        Some(signature.map_or(Err("stream has no Fin"), |signature| {
            Ok(Assembled {
                publisher,
                init,
                block_bytes,
                keys,
                signature,
            })
        }))
    }
}

/// Open streams, keyed by publisher and stream id.
pub(crate) struct PartStreams {
    streams: HashMap<(PeerId, StreamId), Partial>,
    order: VecDeque<(PeerId, StreamId)>,
    max_streams: usize,
    max_stream_bytes: usize,
}

impl PartStreams {
    pub(crate) fn new(max_streams: usize, max_stream_bytes: usize) -> Self {
        Self {
            streams: HashMap::new(),
            order: VecDeque::new(),
            max_streams,
            max_stream_bytes,
        }
    }

    /// Adds a message; returns the proposal when its stream completes, or why it was dropped.
    pub(crate) fn insert(
        &mut self,
        publisher: PeerId,
        msg: StreamMessage<ProposalPart>,
    ) -> Option<Result<Assembled, &'static str>> {
        let key = (publisher, msg.stream_id.clone());
        if !self.streams.contains_key(&key) {
            while self.streams.len() >= self.max_streams {
                let oldest = self.order.pop_front()?;
                self.streams.remove(&oldest);
            }
            self.order.push_back(key.clone());
        }
        let partial = self.streams.entry(key.clone()).or_default();
        match msg.content {
            StreamContent::Fin => partial.end = Some(msg.sequence),
            StreamContent::Data(part) => {
                partial.bytes += match &part {
                    ProposalPart::Data(chunk) | ProposalPart::Keys(chunk) => chunk.len(),
                    _ => 0,
                };
                partial.parts.entry(msg.sequence).or_insert(part);
            }
        }
        let outcome = if partial.bytes > self.max_stream_bytes {
            Some(Err("stream exceeds the block size limit"))
        } else if partial.end.is_some_and(|end| {
            partial
                .parts
                .last_key_value()
                .is_some_and(|(k, _)| *k >= end)
        }) {
            Some(Err("parts beyond the end of the stream"))
        } else {
            partial.assemble(publisher)
        };
        if outcome.is_some() {
            self.streams.remove(&key);
            self.order.retain(|k| k != &key);
        }
        outcome
    }
}

/// Splits a proposal into stream messages: Init, Data chunks, Keys chunks (if any), Fin part,
/// end marker.
pub(crate) fn stream_messages(
    stream_id: StreamId,
    init: ProposalInit,
    block_bytes: &[u8],
    keys: &[u8],
    signature: Signature,
    chunk_size: usize,
) -> Vec<StreamMessage<ProposalPart>> {
    let mut parts = vec![ProposalPart::Init(init)];
    parts.extend(
        block_bytes
            .chunks(chunk_size.max(1))
            .map(|c| ProposalPart::Data(Bytes::copy_from_slice(c))),
    );
    parts.extend(
        keys.chunks(chunk_size.max(1))
            .map(|c| ProposalPart::Keys(Bytes::copy_from_slice(c))),
    );
    parts.push(ProposalPart::Fin(signature));
    let mut out: Vec<_> = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| StreamMessage::new(stream_id.clone(), i as u64, StreamContent::Data(p)))
        .collect();
    out.push(StreamMessage::new(
        stream_id,
        out.len() as u64,
        StreamContent::Fin,
    ));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::{Height, ValidatorAddress};
    use malachitebft_app_channel::app::types::core::Round;

    fn init() -> ProposalInit {
        ProposalInit {
            height: Height(3),
            round: Round::new(1),
            pol_round: Round::Nil,
            proposer: ValidatorAddress::default(),
        }
    }

    fn peer() -> PeerId {
        let id = malachitebft_app_channel::app::types::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        PeerId::from_bytes(&id.to_bytes()).unwrap()
    }

    fn sig() -> Signature {
        ordo_types::SecretKey::random().sign_digest(&ordo_types::B256::ZERO)
    }

    #[test]
    fn reassembles_in_any_order_and_ignores_duplicates() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let keys = [9u8; 200];
        let signature = sig();
        let mut msgs = stream_messages(
            StreamId::new(Bytes::from_static(b"s")),
            init(),
            &data,
            &keys,
            signature,
            64,
        );
        msgs.reverse();
        let dup = msgs[3].clone();
        msgs.insert(5, dup);
        let mut streams = PartStreams::new(4, 1 << 20);
        let peer = peer();
        let mut done = None;
        for m in msgs {
            if let Some(r) = streams.insert(peer, m) {
                assert!(done.is_none(), "completes once");
                done = Some(r.unwrap());
            }
        }
        let done = done.unwrap();
        assert_eq!(done.block_bytes, data);
        assert_eq!(done.keys, keys);
        assert_eq!(done.signature, signature);
        assert_eq!(done.init, init());
        assert_eq!(done.publisher, peer);
    }

    #[test]
    fn drops_oversized_streams() {
        let msgs = stream_messages(
            StreamId::new(Bytes::from_static(b"s")),
            init(),
            &[7u8; 200],
            &[8u8; 300],
            sig(),
            100,
        );
        let mut streams = PartStreams::new(4, 300);
        let peer = peer();
        let outcomes: Vec<_> = msgs
            .into_iter()
            .filter_map(|m| streams.insert(peer, m))
            .collect();
        assert_eq!(outcomes[0], Err("stream exceeds the block size limit"));
    }

    #[test]
    fn block_data_after_the_keys_is_refused() {
        let stream = StreamId::new(Bytes::from_static(b"s"));
        let parts = [
            ProposalPart::Init(init()),
            ProposalPart::Keys(Bytes::from_static(&[1; 64])),
            ProposalPart::Data(Bytes::from_static(b"late")),
            ProposalPart::Fin(sig()),
        ];
        let mut streams = PartStreams::new(4, 1 << 20);
        let peer = peer();
        let mut outcome = None;
        for (i, part) in parts.into_iter().enumerate() {
            let msg = StreamMessage::new(stream.clone(), i as u64, StreamContent::Data(part));
            outcome = outcome.or(streams.insert(peer, msg));
        }
        let end = StreamMessage::new(stream, 4, StreamContent::Fin);
        outcome = outcome.or(streams.insert(peer, end));
        assert_eq!(outcome, Some(Err("parts out of order")));
    }

    #[test]
    fn bounded_number_of_open_streams() {
        let mut streams = PartStreams::new(2, 1 << 20);
        for i in 0..10u8 {
            let msg = StreamMessage::new(
                StreamId::new(Bytes::from(vec![i])),
                1,
                StreamContent::Data(ProposalPart::Data(Bytes::from_static(b"x"))),
            );
            assert!(streams.insert(peer(), msg).is_none());
        }
        assert_eq!(streams.streams.len(), 2);
        assert_eq!(streams.order.len(), 2);
    }
}
