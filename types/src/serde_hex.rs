//! serde helpers for `0x`-prefixed hex strings.

/// Deserializes a hex string (with or without `0x`) into bytes.
pub(crate) fn deserialize_hex<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<u8>, D::Error> {
    let s = <String as serde::Deserialize>::deserialize(deserializer)?;
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(&s);
    hex::decode(digits).map_err(serde::de::Error::custom)
}
