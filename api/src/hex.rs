//! Strict reading of what clients send, so that the server takes exactly what the OpenAPI
//! document describes: hex strings (hashes, addresses, payloads, signatures) start with `0x`,
//! as Ethereum's JSON-RPC writes data and as the document's patterns say, and an optional
//! field is either absent or a value, never `null`. Anything else is `MALFORMED`.

use ordo_types::{Bytes, Signature, SIGNATURE_LEN};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};

/// A value written as `0x`-prefixed hex: `T`'s own parser reads the string once the prefix is
/// checked (`T` checks the digits and the length).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hex<T>(pub(crate) T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Hex<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        if !text.starts_with("0x") {
            return Err(D::Error::custom("expected a 0x-prefixed hex string"));
        }
        T::deserialize(serde::de::value::StringDeserializer::<D::Error>::new(text)).map(Hex)
    }
}

/// A signature as the document describes it: 65 bytes `r || s || v` with `v` 27 or 28. Whether
/// `r` and `s` are in range (and `s` low) is the signature check's to say: admission refuses
/// such a signature with `BAD_SIGNATURE`, like any other that recovers to no key, so a batch
/// answers it in that item's result instead of refusing the request as malformed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WireSignature(pub(crate) Signature);

impl<'de> Deserialize<'de> for WireSignature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Hex(bytes) = Hex::<Bytes>::deserialize(d)?;
        let array = <[u8; SIGNATURE_LEN]>::try_from(bytes.as_ref()).map_err(|_| {
            D::Error::custom(format!(
                "a signature is {SIGNATURE_LEN} bytes, not {}",
                bytes.len()
            ))
        })?;
        match array[SIGNATURE_LEN - 1] {
            27 | 28 => Ok(Self(Signature(array))),
            v => Err(D::Error::custom(format!(
                "signature v must be 27 or 28, got {v}"
            ))),
        }
    }
}

/// A public key as the document describes it: SEC1, 33 bytes compressed (`02` or `03` first) or
/// 65 uncompressed (`04` first). Whether it is a point of the curve is checked per item
/// (`BAD_SIGNATURE`), as a signature's scalars are: a batch answers such a key in that item's
/// result instead of refusing the request as malformed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WirePublicKey(pub(crate) Bytes);

impl<'de> Deserialize<'de> for WirePublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Hex(bytes) = Hex::<Bytes>::deserialize(d)?;
        if !ordo_types::PublicKey::is_sec1_form(&bytes) {
            return Err(D::Error::custom(format!(
                "a public key is SEC1: 33 bytes starting 02 or 03, or 65 starting 04 (got {})",
                bytes.len()
            )));
        }
        Ok(Self(bytes))
    }
}

/// For an optional field (with `#[serde(default)]`): present means a value, and `null` is
/// refused rather than read as absent.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ordo_types::{Address, B256};

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[serde(default, deserialize_with = "present")]
        from: Option<Hex<Address>>,
        #[serde(default, deserialize_with = "present")]
        chain_id: Option<u64>,
    }

    #[test]
    fn hex_needs_its_prefix_and_optional_fields_are_never_null() {
        let hash = format!("0x{}", "ab".repeat(32));
        let parsed: Hex<B256> = serde_json::from_value(hash.clone().into()).unwrap();
        assert_eq!(parsed.0, hash.parse::<B256>().unwrap());
        for bad in [
            "ab".repeat(32),
            format!("0X{}", "ab".repeat(32)),
            format!("0x{}", "ab".repeat(31)),
            String::new(),
        ] {
            assert!(
                serde_json::from_value::<Hex<B256>>(bad.clone().into()).is_err(),
                "{bad}"
            );
        }
        assert!(serde_json::from_value::<Hex<B256>>(serde_json::json!(7)).is_err());
        let bytes: Hex<Bytes> = serde_json::from_value("0x".into()).unwrap();
        assert!(bytes.0.is_empty());
        assert!(serde_json::from_value::<Hex<Bytes>>("0xabc".into()).is_err());
        assert!(serde_json::from_value::<Hex<Bytes>>("abcd".into()).is_err());
        // A signature: 65 bytes ending in 27 or 28; r and s are admission's to check.
        let zero = |v: &str| format!("0x{}{v}", "00".repeat(64));
        let parsed: WireSignature = serde_json::from_value(zero("1C").into()).unwrap();
        assert_eq!(parsed.0.v(), 28);
        assert!(Signature::from_slice(&parsed.0 .0).is_err());
        for bad in [
            zero("00"),
            zero("1d"),
            zero(""),
            zero("1b00"),
            zero("1b")[2..].to_owned(),
        ] {
            assert!(
                serde_json::from_value::<WireSignature>(bad.clone().into()).is_err(),
                "{bad}"
            );
        }

        // A public key: SEC1's compressed or uncompressed form; on the curve is checked per item.
        for good in [
            format!("0x02{}", "00".repeat(32)),
            format!("0x03{}", "ff".repeat(32)),
            format!("0x04{}", "00".repeat(64)),
        ] {
            let key: WirePublicKey = serde_json::from_value(good.clone().into()).unwrap();
            assert_eq!(format!("0x{}", hex::encode(&key.0)), good);
        }
        for bad in [
            format!("0x04{}", "00".repeat(32)),
            format!("0x02{}", "00".repeat(64)),
            format!("0x05{}", "00".repeat(32)),
            format!("0x{}", "00".repeat(64)),
            format!("04{}", "00".repeat(64)),
        ] {
            assert!(
                serde_json::from_value::<WirePublicKey>(bad.clone().into()).is_err(),
                "{bad}"
            );
        }

        let item: Item = serde_json::from_str("{}").unwrap();
        assert!(item.from.is_none() && item.chain_id.is_none());
        let from = format!("0x{}", "Ab".repeat(20));
        let item: Item =
            serde_json::from_value(serde_json::json!({ "from": from, "chain_id": 7 })).unwrap();
        assert_eq!(item.chain_id, Some(7));
        assert_eq!(item.from.unwrap().0, Address::repeat_byte(0xab));
        for bad in [
            serde_json::json!({ "from": null }),
            serde_json::json!({ "chain_id": null }),
            serde_json::json!({ "from": "ab".repeat(20) }),
        ] {
            assert!(
                serde_json::from_value::<Item>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }
}
