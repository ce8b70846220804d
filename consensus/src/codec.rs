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
    Round, RoundCertificate, RoundCertificateType, RoundSignature, SignedMessage, ValidatorProof,
    Validity, VoteType,
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
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(Vote {
            height: Height::get(r)?,
            round: Round::get(r)?,
            vote_type: VoteType::get(r)?,
            value: NilOrVal::get(r)?,
            validator_address: ValidatorAddress::get(r)?,
        })
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
        });
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, WireError> {
        Ok(ExtendedCommitCertificate {
            height: Height::get(r)?,
            round: Round::get(r)?,
            value_id: BlockHash::get(r)?,
            commit_signatures: get_list(r, SIG_ENTRY_LEN, |r| {
                let address: ValidatorAddress = Wire::get(r)?;
                let signature: ordo_types::Signature = Wire::get(r)?;
                Ok(ExtendedCommitSignature::new(address, signature, None))
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
    use ordo_types::{SecretKey, B256};
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
