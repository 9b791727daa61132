//! The money column: canonical decimal TEXT in SQLite (which has no exact decimal type),
//! NUMERIC in PostgreSQL. One newtype so that every query binds and reads money the same
//! way on both backends and `Decimal` handling lives in one place.

use crate::money::canonical;
use rust_decimal::Decimal;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Postgres, Sqlite, Type};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DbMoney(pub Decimal);

impl Type<Sqlite> for DbMoney {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for DbMoney {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        <String as Encode<Sqlite>>::encode(canonical(self.0), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for DbMoney {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<Sqlite>>::decode(value)?;
        let d = crate::money::parse_plain(s).ok_or_else(|| format!("stored amount {s:?} is not a decimal"))?;
        Ok(DbMoney(d))
    }
}

impl Type<Postgres> for DbMoney {
    fn type_info() -> PgTypeInfo {
        <Decimal as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <Decimal as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for DbMoney {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <Decimal as Encode<Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for DbMoney {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        // NUMERIC(24,6) comes back with six decimals: normalise so equality and printing
        // behave the same as on SQLite.
        Ok(DbMoney(<Decimal as Decode<Postgres>>::decode(value)?.normalize()))
    }
}
