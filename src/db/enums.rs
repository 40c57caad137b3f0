//! How the domain's enums are stored: as the text the schema's CHECK
//! constraints allow, read back strictly. The domain stays free of sqlx;
//! these impls are the one place that knows the columns are text.
//!
//! Decoding a value the enum does not know is an error (sqlx reports it as
//! a column decode error naming the value), never a default.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgHasArrayType, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

use crate::db::teams::TeamRole;
use crate::domain::role::Role;
use crate::domain::swap::{ChangeKind, RequestKind, State};

/// Stores `$t` as text via its `as_str`, reads it via its `parse`.
macro_rules! text_enum {
    ($t:ty, $what:literal) => {
        impl Type<Postgres> for $t {
            fn type_info() -> PgTypeInfo {
                <str as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <str as Type<Postgres>>::compatible(ty)
            }
        }

        impl PgHasArrayType for $t {
            fn array_type_info() -> PgTypeInfo {
                <&str as PgHasArrayType>::array_type_info()
            }
        }

        impl Encode<'_, Postgres> for $t {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $t {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let s = <&str as Decode<Postgres>>::decode(value)?;
                <$t>::parse(s).ok_or_else(|| format!(concat!("unknown ", $what, " {:?} in the database"), s).into())
            }
        }
    };
}

text_enum!(Role, "role");
text_enum!(RequestKind, "request kind");
text_enum!(ChangeKind, "change kind");
text_enum!(State, "request state");
text_enum!(TeamRole, "team role");

#[cfg(test)]
mod tests {
    use super::*;

    /// What is written reads back as itself, and is the schema's spelling.
    #[test]
    fn every_variant_reads_back_as_written() {
        for r in Role::BOTH {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        for k in [RequestKind::Swap, RequestKind::Cover] {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for k in [
            ChangeKind::Swap,
            ChangeKind::Cover,
            ChangeKind::Override,
            ChangeKind::Leave,
        ] {
            assert_eq!(ChangeKind::parse(k.as_str()), Some(k));
        }
        let states = [
            State::Proposed,
            State::Accepted,
            State::Applied,
            State::Declined,
            State::Rejected,
            State::Cancelled,
            State::Expired,
        ];
        for s in states {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for t in [TeamRole::Member, TeamRole::Manager] {
            assert_eq!(TeamRole::parse(t.as_str()), Some(t));
        }
        assert_eq!(Role::parse("Primary"), None, "stored values are lower case");
        assert_eq!(State::parse("bogus"), None);
    }
}
