//! The network and WAL codec: a compact binary encoding of every message Malachite exchanges.
//!
//! Every message decodes to a value or a [`WireError`], never a panic; a peer sending garbage
//! only gets its message dropped.

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::{LivenessMsg, SignedConsensusMsg};
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::{
    ExtendedCommitCertificate, ExtendedCommitSignature, NilOrVal, PolkaCertificate, PolkaSignature,
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedExtension, SignedMessage,
    ValidatorProof, Validity, VoteType,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{PeerId, ProposedValue};
use malachitebft_sync::{ValueRequest, ValueResponse};

use crate::context::{
    BlockHash, Height, OrdoContext, Proposal, ProposalInit, ProposalPart, ValidatorAddress, Vote,
};
use crate::wire::{Reader, WireError, Writer};

/// The codec for consensus, sync and WAL messages.
#[derive(Clone, Copy, Debug, Default)]
pub struct OrdoCodec;

/// A type with a binary encoding in this codec.
pub(crate) trait Wire: Sized {
    fn put(&self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError>;
}

pub(crate) fn encode<T: Wire>(value: &T) -> Bytes {
    let mut w = Writer::new();
    value.put(&mut w);
    w.finish()
}

pub(crate) fn decode<T: Wire>(bytes: &[u8]) -> Result<T, WireError> {
    let mut r = Reader::new(bytes);
    let value = T::get(&mut r)?;
    r.finish()?;
    Ok(value)
}

macro_rules! codec_for {
    ($($t:ty),* $(,)?) => {$(
        impl Codec<$t> for OrdoCodec {
            type Error = WireError;

            fn decode(&self, bytes: Bytes) -> Result<$t, WireError> {
                decode(&bytes)
            }

            fn encode(&self, msg: &$t) -> Result<Bytes, WireError> {
                Ok(encode(msg))
            }
        }
    )*};
}

codec_for!(
    ProposalPart,
    SignedConsensusMsg<OrdoContext>,
    LivenessMsg<OrdoContext>,
    StreamMessage<ProposalPart>,
    ValidatorProof<OrdoContext>,
    Status<OrdoContext>,
    Request<OrdoContext>,
    Response<OrdoContext>,
    ProposedValue<OrdoContext>,
    PolkaCertificate<OrdoContext>,
);

impl HasEncodedLen<Response<OrdoContext>> for OrdoCodec {
    fn encoded_len(&self, msg: &Response<OrdoContext>) -> Result<usize, WireError> {
        Ok(encode(msg).len())
    }
}

impl Wire for Height {
    fn put(&self, w: &mut Writer) {
        w.u64(self.0);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Height(r.u64()?))
    }
}

impl Wire for Round {
    fn put(&self, w: &mut Writer) {
        w.u32(self.as_u32().unwrap_or(u32::MAX));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(match r.u32()? {
            u32::MAX => Round::Nil,
            n => Round::new(n),
        })
    }
}

impl Wire for ValidatorAddress {
    fn put(&self, w: &mut Writer) {
        w.raw(self.0.as_slice());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(ValidatorAddress(r.address()?))
    }
}

impl Wire for BlockHash {
    fn put(&self, w: &mut Writer) {
        w.raw(self.0.as_slice());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(BlockHash(r.b256()?))
    }
}

impl Wire for ordo_types::Signature {
    fn put(&self, w: &mut Writer) {
        w.raw(&self.0);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        r.signature()
    }
}

impl Wire for NilOrVal<BlockHash> {
    fn put(&self, w: &mut Writer) {
        match self {
            NilOrVal::Nil => {
                w.u8(0);
            }
            NilOrVal::Val(hash) => {
                w.u8(1);
                hash.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => Ok(NilOrVal::Nil),
            1 => Ok(NilOrVal::Val(BlockHash::get(r)?)),
            tag => Err(WireError::UnknownTag { what: "value", tag }),
        }
    }
}

impl Wire for VoteType {
    fn put(&self, w: &mut Writer) {
        w.u8(match self {
            VoteType::Prevote => 1,
            VoteType::Precommit => 2,
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            1 => Ok(VoteType::Prevote),
            2 => Ok(VoteType::Precommit),
            tag => Err(WireError::UnknownTag {
                what: "vote type",
                tag,
            }),
        }
    }
}

impl Wire for Vote {
    fn put(&self, w: &mut Writer) {
        self.height.put(w);
        self.round.put(w);
        self.vote_type.put(w);
        self.value.put(w);
        self.validator_address.put(w);
        self.extension.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Vote {
            height: Height::get(r)?,
            round: Round::get(r)?,
            vote_type: VoteType::get(r)?,
            value: NilOrVal::get(r)?,
            validator_address: ValidatorAddress::get(r)?,
            extension: Wire::get(r)?,
        })
    }
}

impl Wire for Bytes {
    fn put(&self, w: &mut Writer) {
        w.bytes(self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Bytes::copy_from_slice(r.bytes()?))
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, w: &mut Writer) {
        match self {
            None => {
                w.u8(0);
            }
            Some(v) => {
                w.u8(1);
                v.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::get(r)?)),
            tag => Err(WireError::UnknownTag {
                what: "option",
                tag,
            }),
        }
    }
}

impl Wire for Proposal {
    fn put(&self, w: &mut Writer) {
        self.height.put(w);
        self.round.put(w);
        self.value.put(w);
        self.pol_round.put(w);
        self.validator_address.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Proposal {
            height: Height::get(r)?,
            round: Round::get(r)?,
            value: BlockHash::get(r)?,
            pol_round: Round::get(r)?,
            validator_address: ValidatorAddress::get(r)?,
        })
    }
}

impl<M: Wire> Wire for SignedMessage<OrdoContext, M> {
    fn put(&self, w: &mut Writer) {
        self.message.put(w);
        self.signature.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(SignedMessage::new(M::get(r)?, Wire::get(r)?))
    }
}

impl Wire for SignedConsensusMsg<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        match self {
            SignedConsensusMsg::Vote(v) => {
                w.u8(0);
                v.put(w);
            }
            SignedConsensusMsg::Proposal(p) => {
                w.u8(1);
                p.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => Ok(SignedConsensusMsg::Vote(Wire::get(r)?)),
            1 => Ok(SignedConsensusMsg::Proposal(Wire::get(r)?)),
            tag => Err(WireError::UnknownTag {
                what: "consensus message",
                tag,
            }),
        }
    }
}

/// Minimum encoded size of a (signer, signature) pair: bounds list counts on decode.
const SIG_ENTRY_LEN: usize = 20 + 65;

fn put_list<T>(w: &mut Writer, items: &[T], put: impl Fn(&T, &mut Writer)) {
    w.len(items.len());
    for item in items {
        put(item, w);
    }
}

fn get_list<T>(
    r: &mut Reader<'_>,
    min_item: usize,
    get: impl Fn(&mut Reader<'_>) -> Result<T, WireError>,
) -> Result<Vec<T>, WireError> {
    let n = r.count(min_item)?;
    (0..n).map(|_| get(r)).collect()
}

/// The signed vote extensions of a certificate's precommits, as the store keeps them.
pub(crate) fn encode_extensions(
    extensions: &[(ValidatorAddress, SignedExtension<OrdoContext>)],
) -> Vec<u8> {
    if extensions.is_empty() {
        return Vec::new();
    }
    let mut w = Writer::new();
    put_list(&mut w, extensions, |(a, e), w| {
        a.put(w);
        e.put(w);
    });
    w.finish().to_vec()
}

/// Reads [`encode_extensions`]' bytes: none for empty bytes, and an empty list is never
/// written as a count of zero.
pub(crate) fn decode_extensions(
    bytes: &[u8],
) -> Result<Vec<(ValidatorAddress, SignedExtension<OrdoContext>)>, WireError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(bytes);
    let list = get_list(&mut r, SIG_ENTRY_LEN + 4, |r| {
        Ok((Wire::get(r)?, Wire::get(r)?))
    })?;
    r.finish()?;
    if list.is_empty() {
        return Err(WireError::Invalid(
            "an empty extension list written as a count",
        ));
    }
    Ok(list)
}

impl Wire for PolkaCertificate<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        self.height.put(w);
        self.round.put(w);
        self.value_id.put(w);
        put_list(w, &self.polka_signatures, |s, w| {
            s.address.put(w);
            s.signature.put(w);
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(PolkaCertificate {
            height: Height::get(r)?,
            round: Round::get(r)?,
            value_id: BlockHash::get(r)?,
            polka_signatures: get_list(r, SIG_ENTRY_LEN, |r| {
                Ok(PolkaSignature::new(Wire::get(r)?, Wire::get(r)?))
            })?,
        })
    }
}

impl Wire for RoundCertificate<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        self.height.put(w);
        self.round.put(w);
        w.u8(match self.cert_type {
            RoundCertificateType::Skip => 0,
            RoundCertificateType::Precommit => 1,
        });
        put_list(w, &self.round_signatures, |s, w| {
            s.vote_type.put(w);
            s.value_id.put(w);
            s.address.put(w);
            s.signature.put(w);
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(RoundCertificate {
            height: Height::get(r)?,
            round: Round::get(r)?,
            cert_type: match r.u8()? {
                0 => RoundCertificateType::Skip,
                1 => RoundCertificateType::Precommit,
                tag => {
                    return Err(WireError::UnknownTag {
                        what: "round certificate",
                        tag,
                    })
                }
            },
            round_signatures: get_list(r, SIG_ENTRY_LEN + 2, |r| {
                Ok(RoundSignature {
                    vote_type: Wire::get(r)?,
                    value_id: Wire::get(r)?,
                    address: Wire::get(r)?,
                    signature: Wire::get(r)?,
                })
            })?,
        })
    }
}

impl Wire for LivenessMsg<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        match self {
            LivenessMsg::Vote(v) => {
                w.u8(0);
                v.put(w);
            }
            LivenessMsg::PolkaCertificate(c) => {
                w.u8(1);
                c.put(w);
            }
            LivenessMsg::SkipRoundCertificate(c) => {
                w.u8(2);
                c.put(w);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => Ok(LivenessMsg::Vote(Wire::get(r)?)),
            1 => Ok(LivenessMsg::PolkaCertificate(Wire::get(r)?)),
            2 => Ok(LivenessMsg::SkipRoundCertificate(Wire::get(r)?)),
            tag => Err(WireError::UnknownTag {
                what: "liveness message",
                tag,
            }),
        }
    }
}

impl Wire for ProposalPart {
    fn put(&self, w: &mut Writer) {
        match self {
            ProposalPart::Init(init) => {
                w.u8(0);
                init.height.put(w);
                init.round.put(w);
                init.pol_round.put(w);
                init.proposer.put(w);
            }
            ProposalPart::Data(chunk) => {
                w.u8(1).bytes(chunk);
            }
            ProposalPart::Fin(signature) => {
                w.u8(2);
                signature.put(w);
            }
            ProposalPart::Keys(chunk) => {
                w.u8(3).bytes(chunk);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => Ok(ProposalPart::Init(ProposalInit {
                height: Wire::get(r)?,
                round: Wire::get(r)?,
                pol_round: Wire::get(r)?,
                proposer: Wire::get(r)?,
            })),
            1 => Ok(ProposalPart::Data(Bytes::copy_from_slice(r.bytes()?))),
            2 => Ok(ProposalPart::Fin(Wire::get(r)?)),
            3 => Ok(ProposalPart::Keys(Bytes::copy_from_slice(r.bytes()?))),
            tag => Err(WireError::UnknownTag {
                what: "proposal part",
                tag,
            }),
        }
    }
}

impl Wire for StreamMessage<ProposalPart> {
    fn put(&self, w: &mut Writer) {
        w.bytes(&self.stream_id.to_bytes()).u64(self.sequence);
        match &self.content {
            StreamContent::Data(part) => {
                w.u8(0);
                part.put(w);
            }
            StreamContent::Fin => {
                w.u8(1);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        let stream_id = StreamId::new(Bytes::copy_from_slice(r.bytes()?));
        let sequence = r.u64()?;
        let content = match r.u8()? {
            0 => StreamContent::Data(ProposalPart::get(r)?),
            1 => StreamContent::Fin,
            tag => {
                return Err(WireError::UnknownTag {
                    what: "stream content",
                    tag,
                })
            }
        };
        Ok(StreamMessage::new(stream_id, sequence, content))
    }
}

impl Wire for ValidatorProof<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        w.bytes(&self.public_key).bytes(&self.peer_id);
        self.signature.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(ValidatorProof::new(
            r.bytes()?.to_vec(),
            r.bytes()?.to_vec(),
            Wire::get(r)?,
        ))
    }
}

impl Wire for PeerId {
    fn put(&self, w: &mut Writer) {
        w.bytes(&self.to_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        PeerId::from_bytes(r.bytes()?).map_err(|_| WireError::Invalid("peer id"))
    }
}

impl Wire for Status<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        self.peer_id.put(w);
        self.tip_height.put(w);
        self.history_min_height.put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Status {
            peer_id: Wire::get(r)?,
            tip_height: Wire::get(r)?,
            history_min_height: Wire::get(r)?,
        })
    }
}

impl Wire for Request<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        let Request::ValueRequest(req) = self;
        w.u8(0);
        req.range.start().put(w);
        req.range.end().put(w);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => {
                let start = Height::get(r)?;
                let end = Height::get(r)?;
                Ok(Request::ValueRequest(ValueRequest::new(start..=end)))
            }
            tag => Err(WireError::UnknownTag {
                what: "sync request",
                tag,
            }),
        }
    }
}

impl Wire for ExtendedCommitCertificate<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        self.height.put(w);
        self.round.put(w);
        self.value_id.put(w);
        put_list(w, &self.commit_signatures, |s, w| {
            s.address.put(w);
            s.signature.put(w);
            s.extension.put(w);
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(ExtendedCommitCertificate {
            height: Height::get(r)?,
            round: Round::get(r)?,
            value_id: BlockHash::get(r)?,
            commit_signatures: get_list(r, SIG_ENTRY_LEN + 1, |r| {
                let address: ValidatorAddress = Wire::get(r)?;
                let signature: ordo_types::Signature = Wire::get(r)?;
                Ok(ExtendedCommitSignature::new(
                    address,
                    signature,
                    Wire::get(r)?,
                ))
            })?,
        })
    }
}

impl Wire for Response<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        let Response::ValueResponse(resp) = self;
        w.u8(0);
        resp.start_height.put(w);
        put_list(w, &resp.values, |v, w| {
            w.bytes(&v.value_bytes);
            v.certificate.put(w);
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        match r.u8()? {
            0 => {
                let start = Height::get(r)?;
                let values = get_list(r, 4 + 8 + 4 + 32 + 4, |r| {
                    let value_bytes = Bytes::copy_from_slice(r.bytes()?);
                    Ok(RawDecidedValue::new(value_bytes, Wire::get(r)?))
                })?;
                Ok(Response::ValueResponse(ValueResponse::new(start, values)))
            }
            tag => Err(WireError::UnknownTag {
                what: "sync response",
                tag,
            }),
        }
    }
}

impl Wire for ProposedValue<OrdoContext> {
    fn put(&self, w: &mut Writer) {
        self.height.put(w);
        self.round.put(w);
        self.valid_round.put(w);
        self.proposer.put(w);
        self.value.put(w);
        w.u8(u8::from(self.validity.is_valid()));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(ProposedValue {
            height: Wire::get(r)?,
            round: Wire::get(r)?,
            valid_round: Wire::get(r)?,
            proposer: Wire::get(r)?,
            value: Wire::get(r)?,
            validity: match r.u8()? {
                0 => Validity::Invalid,
                1 => Validity::Valid,
                tag => {
                    return Err(WireError::UnknownTag {
                        what: "validity",
                        tag,
                    })
                }
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_app_channel::app::types::core::SignedVote;
    use ordo_types::{keccak256, SecretKey, B256};
    use proptest::prelude::*;

    fn sig(seed: u8) -> ordo_types::Signature {
        SecretKey::from_bytes(&[seed.clamp(1, 0x7f); 32])
            .unwrap()
            .sign_digest(&B256::repeat_byte(seed))
    }

    fn round_trip<T: Wire + PartialEq + std::fmt::Debug>(value: T) {
        let bytes = encode(&value);
        assert_eq!(decode::<T>(&bytes).unwrap(), value);
        // Truncated or extended input is refused.
        assert!(decode::<T>(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(decode::<T>(&longer).is_err());
    }

    fn vote(h: u64, r: u32, value: Option<[u8; 32]>) -> Vote {
        Vote {
            height: Height(h),
            round: Round::new(r),
            value: value.map_or(NilOrVal::Nil, |v| NilOrVal::Val(BlockHash(B256::from(v)))),
            vote_type: VoteType::Precommit,
            validator_address: ValidatorAddress(ordo_types::Address::repeat_byte(7)),
            extension: None,
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode::<SignedConsensusMsg<OrdoContext>>(&bytes);
            let _ = decode::<LivenessMsg<OrdoContext>>(&bytes);
            let _ = decode::<StreamMessage<ProposalPart>>(&bytes);
            let _ = decode::<ProposalPart>(&bytes);
            let _ = decode::<ValidatorProof<OrdoContext>>(&bytes);
            let _ = decode::<Status<OrdoContext>>(&bytes);
            let _ = decode::<Request<OrdoContext>>(&bytes);
            let _ = decode::<Response<OrdoContext>>(&bytes);
            let _ = decode::<ProposedValue<OrdoContext>>(&bytes);
            let _ = decode::<PolkaCertificate<OrdoContext>>(&bytes);
        }

        #[test]
        fn votes_round_trip(h in any::<u64>(), r in 0u32..u32::MAX, v in any::<Option<[u8; 32]>>(), s in any::<u8>()) {
            round_trip(SignedConsensusMsg::<OrdoContext>::Vote(SignedVote::new(vote(h, r, v), sig(s))));
        }

        #[test]
        fn parts_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300), seq in any::<u64>()) {
            round_trip(StreamMessage::new(
                StreamId::new(Bytes::from(data.clone())),
                seq,
                StreamContent::Data(ProposalPart::Data(Bytes::from(data))),
            ));
        }
    }

    #[test]
    fn every_message_kind_round_trips() {
        let addr = ValidatorAddress(ordo_types::Address::repeat_byte(3));
        let hash = BlockHash(B256::repeat_byte(9));
        round_trip(SignedConsensusMsg::<OrdoContext>::Proposal(
            SignedMessage::new(
                Proposal {
                    height: Height(5),
                    round: Round::new(2),
                    value: hash,
                    pol_round: Round::Nil,
                    validator_address: addr,
                },
                sig(1),
            ),
        ));
        round_trip(ProposalPart::Init(ProposalInit {
            height: Height(5),
            round: Round::new(1),
            pol_round: Round::new(0),
            proposer: addr,
        }));
        round_trip(ProposalPart::Fin(sig(2)));
        round_trip(StreamMessage::<ProposalPart>::new(
            StreamId::new(Bytes::from_static(b"id")),
            9,
            StreamContent::Fin,
        ));
        let polka = PolkaCertificate {
            height: Height(5),
            round: Round::new(1),
            value_id: hash,
            polka_signatures: vec![PolkaSignature::new(addr, sig(3))],
        };
        round_trip(LivenessMsg::PolkaCertificate(polka.clone()));
        round_trip(polka);
        round_trip(LivenessMsg::<OrdoContext>::SkipRoundCertificate(
            RoundCertificate {
                height: Height(5),
                round: Round::new(3),
                cert_type: RoundCertificateType::Skip,
                round_signatures: vec![RoundSignature {
                    vote_type: VoteType::Prevote,
                    value_id: NilOrVal::Nil,
                    address: addr,
                    signature: sig(4),
                }],
            },
        ));
        round_trip(ValidatorProof::<OrdoContext>::new(
            vec![1, 2],
            vec![3],
            sig(5),
        ));
        round_trip(Request::<OrdoContext>::ValueRequest(ValueRequest::new(
            Height(3)..=Height(9),
        )));
        round_trip(Response::<OrdoContext>::ValueResponse(ValueResponse::new(
            Height(3),
            vec![RawDecidedValue::new(
                Bytes::from_static(b"block"),
                ExtendedCommitCertificate {
                    height: Height(3),
                    round: Round::new(0),
                    value_id: hash,
                    commit_signatures: vec![ExtendedCommitSignature::new(addr, sig(6), None)],
                },
            )],
        )));
        round_trip(ProposedValue::<OrdoContext> {
            height: Height(3),
            round: Round::new(0),
            valid_round: Round::Nil,
            proposer: addr,
            value: hash,
            validity: Validity::Invalid,
        });
    }

    // ---- Golden vectors: a change to any of these bytes is a wire or WAL format change. ----
    //
    // The inputs are those of the `ordo-types` golden vectors: validator key 0x01..01 (its
    // address checked with `cast`), chain 1234, height 5, round 2 and the golden block hash, so
    // the vote and proposal signatures below sign digests computed independently with `cast`.
    // k256 signs with RFC 6979 nonces, so every signature is fixed: `r (32) || s (32) || v (1)`.

    const CHAIN: u64 = 1234;
    /// `ordo-types` `golden_digests`: PRECOMMIT, NIL_PREVOTE and PROPOSAL_NO_POL.
    const PRECOMMIT_DIGEST: &str =
        "0x932095f56a9651a65bacd5e4a63f46096f3269c4e6f228b024dc8496fbb1c087";
    const NIL_PREVOTE_DIGEST: &str =
        "0x252fe6bd6d86d0d1ebb8d50513a204db0b98c5474d508c47131e8be80a76574b";
    /// The vote extension digest of `extended_precommit` (checked against `cast keccak` of
    /// the packed fields).
    const EXTENSION_DIGEST: &str =
        "0x781a9ae3c0e40c57cea0903512c417803d51723aaa30259e6f8805184cd76ccf";
    macro_rules! extension_sig_hex {
        () => {
            concat!(
                "f564c2270ca2b92c803380f260233db3d1d12c318b6a9b509e418ded21481b86",
                "7d93dffeb0ec067deca67b7df199f0f025a27bc0b385073381b3e667a43f4fe11b",
            )
        };
    }
    const PROPOSAL_DIGEST: &str =
        "0x6c5dd8958046cb76063ad06dc0aa10e51daf2abd66a69477d2b268fe7940c54b";

    macro_rules! address_hex {
        () => {
            "1a642f0e3c3af545e7acbd38b07251b3990914f1"
        };
    }
    macro_rules! block_hash_hex {
        () => {
            "6dc119373cf5952cee747a5270f73af58c7e8f1aa3a90be6bc8134c89bee3edc"
        };
    }
    /// Compressed public key of the validator key.
    macro_rules! public_key_hex {
        () => {
            "031b84c5567b126440995d3ed5aaba0565d71e1834604819ff9c17f5e9d5dd078f"
        };
    }
    /// A libp2p peer id: identity multihash (code 0x00, length 0x24) of a protobuf Ed25519
    /// public key (field 1 = key type 1, field 2 = 32 key bytes 0x11..11).
    macro_rules! peer_id_hex {
        () => {
            concat!(
                "0024",
                "0801",
                "1220",
                "1111111111111111111111111111111111111111111111111111111111111111"
            )
        };
    }
    /// Precommit for the block (digest PRECOMMIT_DIGEST).
    macro_rules! precommit_sig_hex {
        () => {
            concat!(
                "3c6e32b664df1601f7cb9eb31ef63aa1e1fc067e77e861b4d387dfc2d61d0f8c",
                "716d5076a879450ef02b1cc16b50072ebd37191ecdc47db97c19f1deabaf2972",
                "1b",
            )
        };
    }
    /// Nil prevote (digest NIL_PREVOTE_DIGEST).
    macro_rules! nil_prevote_sig_hex {
        () => {
            concat!(
                "db44ca07e36761b1e8022199cf288bef0e4b39e4dca95e1209be11570fdfb581",
                "61d2386f5009606f75fd00719d062b048a69bc3da89dc1c725866dd67aa5247c",
                "1c",
            )
        };
    }
    /// Prevote for the block.
    macro_rules! prevote_sig_hex {
        () => {
            concat!(
                "8a32d908cdd84e0d0e5d7829ae94c3ef334e71b9d5e6b28ba6e1fd18945778d5",
                "03cfa765addc311e39baaafce2329867a952c0e9ad7e897d0b52d34818e4d72b",
                "1c",
            )
        };
    }
    /// Proposal of the block with no POL round (digest PROPOSAL_DIGEST).
    macro_rules! proposal_sig_hex {
        () => {
            concat!(
                "ce8f1bfb754b98322056f59141bbb5bd17d50bfe840c84a98c8dc7ed887ba0a7",
                "5582963461b78b8473de2d2b5a2c13ec0ccd1d320d0484b2f07d236f049e92c4",
                "1b",
            )
        };
    }
    /// Validator proof: keccak256 of Malachite's `ValidatorProof::signing_bytes`.
    macro_rules! proof_sig_hex {
        () => {
            concat!(
                "57c76a852780dcf2207cfe6793a99d806403fa2f6e863518913e1be2aa9149a4",
                "222018572c96e5989aae0ecace08f91efd796ba291f526f18d10eb8a5b31e8b6",
                "1b",
            )
        };
    }

    /// A signed precommit for the block (131 bytes).
    macro_rules! signed_precommit_hex {
        () => {
            concat!(
                "0000000000000005",   // height u64
                "00000002",           // round u32
                "02",                 // vote type: 1 prevote, 2 precommit
                "01",                 // value: 0 nil, 1 block hash
                block_hash_hex!(),    // block hash (32)
                address_hex!(),       // validator address (20)
                "00",                 // extension: 0 none, 1 bytes and signature follow
                precommit_sig_hex!(), // signature (65)
            )
        };
    }
    /// A signed nil prevote (99 bytes).
    macro_rules! signed_nil_prevote_hex {
        () => {
            concat!(
                "0000000000000005",     // height u64
                "00000002",             // round u32
                "01",                   // vote type: prevote
                "00",                   // value: nil, no hash follows
                address_hex!(),         // validator address (20)
                "00",                   // extension: none
                nil_prevote_sig_hex!(), // signature (65)
            )
        };
    }
    /// A signed proposal of the block (133 bytes).
    macro_rules! signed_proposal_hex {
        () => {
            concat!(
                "0000000000000005",  // height u64
                "00000002",          // round u32
                block_hash_hex!(),   // value: block hash (32)
                "ffffffff",          // pol round u32: none
                address_hex!(),      // proposer address (20)
                proposal_sig_hex!(), // signature (65)
            )
        };
    }
    /// A polka certificate for the block with one prevote (133 bytes).
    macro_rules! polka_hex {
        () => {
            concat!(
                "0000000000000005", // height u64
                "00000002",         // round u32
                block_hash_hex!(),  // value id: block hash (32)
                "00000001",         // signature count u32
                address_hex!(),     // signer (20)
                prevote_sig_hex!(), // prevote signature (65)
            )
        };
    }
    /// The proposed value as consensus records it (69 bytes).
    macro_rules! proposed_value_hex {
        () => {
            concat!(
                "0000000000000005", // height u64
                "00000002",         // round u32
                "ffffffff",         // valid round u32: none
                address_hex!(),     // proposer (20)
                block_hash_hex!(),  // value: block hash (32)
                "01",               // validity: 0 invalid, 1 valid
            )
        };
    }

    fn golden_key() -> SecretKey {
        SecretKey::from_bytes(&[1; 32]).unwrap()
    }

    fn golden_address() -> ValidatorAddress {
        ValidatorAddress(golden_key().address())
    }

    fn golden_hash() -> BlockHash {
        BlockHash(concat!("0x", block_hash_hex!()).parse().unwrap())
    }

    fn signed_vote(vote_type: VoteType, value: NilOrVal<BlockHash>) -> SignedVote<OrdoContext> {
        let vote = Vote {
            height: Height(5),
            round: Round::new(2),
            vote_type,
            value,
            validator_address: golden_address(),
            extension: None,
        };
        let digest = vote.digest(CHAIN).unwrap();
        SignedMessage::new(vote, golden_key().sign_digest(&digest))
    }

    fn signed_proposal() -> SignedMessage<OrdoContext, Proposal> {
        let proposal = Proposal {
            height: Height(5),
            round: Round::new(2),
            value: golden_hash(),
            pol_round: Round::Nil,
            validator_address: golden_address(),
        };
        let digest = proposal.digest(CHAIN).unwrap();
        SignedMessage::new(proposal, golden_key().sign_digest(&digest))
    }

    fn polka() -> PolkaCertificate<OrdoContext> {
        let prevote = signed_vote(VoteType::Prevote, NilOrVal::Val(golden_hash()));
        PolkaCertificate {
            height: Height(5),
            round: Round::new(2),
            value_id: golden_hash(),
            polka_signatures: vec![PolkaSignature::new(golden_address(), prevote.signature)],
        }
    }

    fn proposed_value() -> ProposedValue<OrdoContext> {
        ProposedValue {
            height: Height(5),
            round: Round::new(2),
            valid_round: Round::Nil,
            proposer: golden_address(),
            value: golden_hash(),
            validity: Validity::Valid,
        }
    }

    fn peer_id() -> PeerId {
        PeerId::from_bytes(&hex::decode(peer_id_hex!()).unwrap()).unwrap()
    }

    /// Encodes `value` through [`OrdoCodec`], compares with `expected`, and decodes `expected`
    /// back to `value`.
    fn assert_golden<T>(value: &T, expected: &str)
    where
        OrdoCodec: Codec<T>,
        T: PartialEq + std::fmt::Debug,
    {
        let bytes = <OrdoCodec as Codec<T>>::encode(&OrdoCodec, value).unwrap();
        assert_eq!(hex::encode(&bytes), expected);
        let golden = Bytes::from(hex::decode(expected).unwrap());
        let decoded = <OrdoCodec as Codec<T>>::decode(&OrdoCodec, golden).unwrap();
        assert_eq!(&decoded, value);
    }

    #[test]
    fn golden_inputs_sign_the_pinned_digests() {
        let key = golden_key();
        assert_eq!(
            hex::encode(key.address()),
            address_hex!(),
            "ordo-types KEY1_ADDRESS"
        );
        assert_eq!(hex::encode(key.public_key().to_sec1()), public_key_hex!());
        let digest = |s: &str| s.parse::<B256>().unwrap();
        for (message, digest) in [
            (
                signed_vote(VoteType::Precommit, NilOrVal::Val(golden_hash())),
                digest(PRECOMMIT_DIGEST),
            ),
            (
                signed_vote(VoteType::Prevote, NilOrVal::Nil),
                digest(NIL_PREVOTE_DIGEST),
            ),
        ] {
            assert_eq!(message.message.digest(CHAIN), Some(digest));
            assert_eq!(message.signature.recover(&digest).unwrap(), key.address());
        }
        let proposal = signed_proposal();
        assert_eq!(
            proposal.message.digest(CHAIN),
            Some(digest(PROPOSAL_DIGEST))
        );
        assert_eq!(
            hex::encode(proposal.signature.0),
            proposal_sig_hex!(),
            "the Fin part carries the proposal signature"
        );
    }

    #[test]
    fn golden_signed_consensus_messages() {
        assert_golden(
            &SignedConsensusMsg::Vote(signed_vote(
                VoteType::Precommit,
                NilOrVal::Val(golden_hash()),
            )),
            concat!("00", signed_precommit_hex!()),
        );
        assert_golden(
            &SignedConsensusMsg::Vote(signed_vote(VoteType::Prevote, NilOrVal::Nil)),
            concat!("00", signed_nil_prevote_hex!()),
        );
        assert_golden(
            &SignedConsensusMsg::Proposal(signed_proposal()),
            concat!("01", signed_proposal_hex!()),
        );
    }

    /// A precommit carrying an extension: slot 0's shares for a block without encrypted
    /// transactions (its index alone), signed over the vote extension digest.
    fn extended_precommit() -> SignedVote<OrdoContext> {
        let mut precommit = signed_vote(VoteType::Precommit, NilOrVal::Val(golden_hash()));
        let extension = Bytes::from_static(&[0, 0, 0, 0]);
        let digest = ordo_types::extension_digest(
            CHAIN,
            5,
            2,
            golden_hash().0,
            golden_address().0,
            &extension,
        );
        assert_eq!(digest, EXTENSION_DIGEST.parse::<B256>().unwrap());
        precommit.message.extension = Some(SignedMessage::new(
            extension,
            golden_key().sign_digest(&digest),
        ));
        precommit
    }

    #[test]
    fn golden_extended_precommit() {
        assert_golden(
            &SignedConsensusMsg::Vote(extended_precommit()),
            concat!(
                "00",                 // consensus message tag: vote
                "0000000000000005",   // height u64
                "00000002",           // round u32
                "02",                 // vote type: precommit
                "01",                 // value: block hash
                block_hash_hex!(),    // block hash (32)
                address_hex!(),       // validator address (20)
                "01",                 // extension: bytes and signature follow
                "00000004",           //   its length u32
                "00000000",           //   slot index 0, no shares
                extension_sig_hex!(), //   its signature (65)
                precommit_sig_hex!(), // the vote's signature (65)
            ),
        );
    }

    #[test]
    fn golden_proposal_stream() {
        // The stream id is (height u64 || round u32 || attempt u8), as the proposer builds it.
        let stream_id = StreamId::new(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2, 0]));
        let init = ProposalInit {
            height: Height(5),
            round: Round::new(2),
            pol_round: Round::Nil,
            proposer: golden_address(),
        };
        let messages = crate::streaming::stream_messages(
            stream_id,
            init,
            b"ordo",
            &[],
            signed_proposal().signature,
            4,
        );
        // Every stream message starts `stream id bytes | sequence u64 | content tag u8`
        // (0 = a proposal part follows, 1 = end of stream).
        let expected = [
            concat!(
                "0000000d",         // stream id length u32
                "0000000000000005", // stream id: height
                "00000002",         //            round
                "00",               //            attempt
                "0000000000000000", // sequence u64
                "00",               // content: a proposal part
                "00",               // part tag: 0 Init
                "0000000000000005", // height u64
                "00000002",         // round u32
                "ffffffff",         // pol round u32: none
                address_hex!(),     // proposer (20)
            ),
            concat!(
                "0000000d",
                "000000000000000500000002",
                "00",
                "0000000000000001", // sequence
                "00",               // content: a proposal part
                "01",               // part tag: 1 Data
                "00000004",         // chunk length u32
                "6f72646f",         // chunk of the block encoding ("ordo" here)
            ),
            concat!(
                "0000000d",
                "000000000000000500000002",
                "00",
                "0000000000000002",  // sequence
                "00",                // content: a proposal part
                "02",                // part tag: 2 Fin
                proposal_sig_hex!(), // the proposal signature (65)
            ),
            concat!(
                "0000000d",
                "000000000000000500000002",
                "00",
                "0000000000000003", // sequence
                "01",               // content: end of stream, nothing follows
            ),
        ];
        assert_eq!(messages.len(), expected.len());
        for (message, expected) in messages.iter().zip(expected) {
            assert_golden(message, expected);
        }
        // A part on its own (the `ProposalPart` codec) is the bytes after the content tag.
        assert_golden(&ProposalPart::Init(init), &expected[0][52..]);
        assert_golden(
            &ProposalPart::Data(Bytes::from_static(b"ordo")),
            &expected[1][52..],
        );
        // Claimed keys: tag 3, then the keys as length-prefixed bytes, like Data.
        assert_golden(
            &ProposalPart::Keys(Bytes::from_static(b"keys")),
            concat!("03", "00000004", "6b657973"),
        );
    }

    #[test]
    fn golden_liveness_messages() {
        assert_golden(
            &LivenessMsg::Vote(signed_vote(
                VoteType::Precommit,
                NilOrVal::Val(golden_hash()),
            )),
            concat!("00", signed_precommit_hex!()),
        );
        assert_golden(&polka(), polka_hex!());
        assert_golden(
            &LivenessMsg::PolkaCertificate(polka()),
            concat!("01", polka_hex!()),
        );
        let nil_prevote = signed_vote(VoteType::Prevote, NilOrVal::Nil);
        assert_golden(
            &LivenessMsg::SkipRoundCertificate(RoundCertificate {
                height: Height(5),
                round: Round::new(2),
                cert_type: RoundCertificateType::Skip,
                round_signatures: vec![RoundSignature {
                    vote_type: VoteType::Prevote,
                    value_id: NilOrVal::Nil,
                    address: golden_address(),
                    signature: nil_prevote.signature,
                }],
            }),
            concat!(
                "02",                   // liveness tag: 2 round certificate
                "0000000000000005",     // height u64
                "00000002",             // round u32
                "00",                   // certificate type: 0 skip, 1 precommit
                "00000001",             // signature count u32
                "01",                   // vote type: prevote
                "00",                   // value: nil
                address_hex!(),         // signer (20)
                nil_prevote_sig_hex!(), // signature (65)
            ),
        );
    }

    #[test]
    fn golden_sync_and_handshake_messages() {
        assert_golden(
            &Status::<OrdoContext> {
                peer_id: peer_id(),
                tip_height: Height(9),
                history_min_height: Height(1),
            },
            concat!(
                "00000026",         // peer id length u32 (38)
                peer_id_hex!(),     // peer id (multihash bytes)
                "0000000000000009", // tip height u64
                "0000000000000001", // lowest height held u64
            ),
        );
        assert_golden(
            &Request::<OrdoContext>::ValueRequest(ValueRequest::new(Height(3)..=Height(9))),
            concat!(
                "00",               // request tag: 0 values
                "0000000000000003", // first height u64
                "0000000000000009", // last height u64 (inclusive)
            ),
        );
        let precommit = signed_vote(VoteType::Precommit, NilOrVal::Val(golden_hash()));
        assert_golden(
            &Response::<OrdoContext>::ValueResponse(ValueResponse::new(
                Height(5),
                vec![RawDecidedValue::new(
                    Bytes::from_static(b"ordo"),
                    ExtendedCommitCertificate {
                        height: Height(5),
                        round: Round::new(2),
                        value_id: golden_hash(),
                        commit_signatures: vec![ExtendedCommitSignature::new(
                            golden_address(),
                            precommit.signature,
                            None,
                        )],
                    },
                )],
            )),
            concat!(
                "00",                 // response tag: 0 values
                "0000000000000005",   // first height u64
                "00000001",           // value count u32
                "00000004",           // value length u32
                "6f72646f",           // value: the block encoding ("ordo" here)
                "0000000000000005",   // certificate: height u64
                "00000002",           //              round u32
                block_hash_hex!(),    //              block hash (32)
                "00000001",           //              signature count u32
                address_hex!(),       //              signer (20)
                precommit_sig_hex!(), //              precommit signature (65)
                "00",                 //              extension: none
            ),
        );
        let public_key = golden_key().public_key().to_sec1().to_vec();
        let peer = peer_id().to_bytes();
        let digest = keccak256(ValidatorProof::<OrdoContext>::signing_bytes(
            &public_key,
            &peer,
        ));
        let signature = golden_key().sign_digest(&digest);
        assert_golden(
            &ValidatorProof::<OrdoContext>::new(public_key, peer, signature),
            concat!(
                "00000021",        // public key length u32 (33)
                public_key_hex!(), // compressed public key
                "00000026",        // peer id length u32 (38)
                peer_id_hex!(),    // peer id
                proof_sig_hex!(),  // signature (65)
            ),
        );
    }

    #[test]
    fn golden_proposed_value() {
        assert_golden(&proposed_value(), proposed_value_hex!());
    }

    /// WAL entries are framed by Malachite (`tag u8 | payload length u64 | payload`, or a
    /// timeout's `tag u8 | step u8 | round i64`); the payloads are this codec's.
    #[test]
    fn golden_wal_entries() {
        use malachitebft_app_channel::app::consensus::Input;
        use malachitebft_app_channel::app::engine::wal::{decode_entry, encode_entry};
        use malachitebft_app_channel::app::types::core::{Timeout, TimeoutKind, ValueOrigin};

        let cases: [(Input<OrdoContext>, &str); 5] = [
            (
                Input::Vote(signed_vote(
                    VoteType::Precommit,
                    NilOrVal::Val(golden_hash()),
                )),
                concat!(
                    "01",               // WAL tag: consensus message
                    "0000000000000085", // payload length u64 (133)
                    "00",               // consensus message tag: vote
                    signed_precommit_hex!(),
                ),
            ),
            (
                Input::Proposal(signed_proposal()),
                concat!(
                    "01",               // WAL tag: consensus message
                    "0000000000000086", // payload length u64 (134)
                    "01",               // consensus message tag: proposal
                    signed_proposal_hex!(),
                ),
            ),
            (
                Input::TimeoutElapsed(Timeout::new(Round::new(2), TimeoutKind::Prevote)),
                concat!(
                    "02",               // WAL tag: timeout
                    "02",               // step: 1 propose, 2 prevote, 3 precommit, 7 rebroadcast
                    "0000000000000002", // round i64
                ),
            ),
            (
                Input::ProposedValue(proposed_value(), ValueOrigin::Consensus),
                concat!(
                    "04",               // WAL tag: proposed value
                    "0000000000000045", // payload length u64 (69)
                    proposed_value_hex!(),
                ),
            ),
            (
                Input::PolkaCertificate(polka()),
                concat!(
                    "08",               // WAL tag: polka certificate
                    "0000000000000085", // payload length u64 (133)
                    polka_hex!(),
                ),
            ),
        ];
        for (input, expected) in cases {
            let mut bytes = Vec::new();
            encode_entry(input.clone(), &OrdoCodec, &mut bytes).unwrap();
            assert_eq!(hex::encode(&bytes), expected);
            let golden = hex::decode(expected).unwrap();
            let decoded: Input<OrdoContext> = decode_entry(&OrdoCodec, golden.as_slice()).unwrap();
            assert_eq!(decoded, input);
        }
    }

    #[test]
    fn a_forged_list_count_does_not_allocate() {
        let mut w = Writer::new();
        w.u8(1); // polka certificate
        w.u64(1).u32(0).raw(&[0u8; 32]).u32(u32::MAX);
        assert_eq!(
            decode::<LivenessMsg<OrdoContext>>(&w.finish()),
            Err(WireError::Truncated)
        );
    }
}
