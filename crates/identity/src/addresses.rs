//! A person's address book (常用地址) for courier delivery: up to [`MAX_ADDRESSES`] addresses,
//! one of them the default, each a recipient, a mobile number and a place (division codes from
//! the regions, then the street). Addresses are personal data: sealed (SM4) like phone numbers;
//! only the owner reads them, and another's address by id answers as missing.

use crate::ids::AccountId;
use crate::{Identity, IdentityError};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_db::{exec, run, sqlx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How many addresses one person keeps.
pub const MAX_ADDRESSES: i64 = 20;

/// An address as typed (the API's body, the page's form).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressInput {
    /// A short name (家, 公司), optional.
    pub label: String,
    /// Who receives parcels.
    pub recipient: String,
    /// Their mobile number.
    pub phone: String,
    /// Province division code.
    pub province: String,
    /// City division code.
    pub city: String,
    /// County division code (optional where the city has none).
    pub county: String,
    /// Street and number.
    pub street: String,
    /// Whether it becomes the default.
    pub is_default: bool,
}

/// A kept address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    /// Id.
    pub id: Uuid,
    /// What was typed (checked).
    #[serde(flatten)]
    pub input: AddressInput,
    /// The divisions' full names joined (山东省济南市历下区).
    pub place: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl Address {
    /// The whole address on one line.
    pub fn line(&self) -> String {
        format!("{}{}", self.place, self.input.street)
    }
}

/// The sealed part of a row.
#[derive(Serialize, Deserialize)]
struct Sealed {
    recipient: String,
    phone: String,
    province: String,
    city: String,
    county: String,
    street: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    label: String,
    body_enc: String,
    is_default: bool,
    updated_at: DateTime<Utc>,
}

fn bad(code: &'static str, message: &str) -> IdentityError {
    IdentityError::field(code, message)
}

fn plain(text: &str, max: usize, code: &'static str, what: &str) -> Result<String, IdentityError> {
    let t = text.trim();
    if t.chars().count() > max {
        return Err(bad(code, &format!("{what}不能超过 {max} 个字")));
    }
    if t.chars().any(|c| c.is_control() || "<>".contains(c)) {
        return Err(bad(code, &format!("{what}不能含有控制字符或尖括号")));
    }
    Ok(t.to_owned())
}

impl Identity {
    /// Checks an address: returns it trimmed, with the divisions' full names joined.
    async fn check_address(&self, input: &AddressInput) -> Result<(AddressInput, String), IdentityError> {
        let label = plain(&input.label, 10, "invalid_address_label", "地址名称")?;
        let recipient = plain(&input.recipient, 30, "invalid_recipient", "收件人")?;
        if recipient.is_empty() {
            return Err(bad("invalid_recipient", "请填写收件人"));
        }
        let phone = Phone::parse(&input.phone)?;
        let street = plain(&input.street, 200, "invalid_street", "详细地址")?;
        if street.chars().count() < 2 {
            return Err(bad("invalid_street", "请填写街道、门牌号"));
        }
        let (province, city, county) = (input.province.trim(), input.city.trim(), input.county.trim());
        let region = async |code: &str| crate::regions::get(&self.db, code).await;
        let Some(p) = region(province).await?.filter(|r| r.parent_code.is_none()) else {
            return Err(bad("invalid_province", "请选择省份"));
        };
        let Some(c) = region(city).await?.filter(|r| r.parent_code.as_deref() == Some(province)) else {
            return Err(bad("invalid_city", "请选择所选省份下的城市"));
        };
        let mut place = format!("{}{}", p.full_name, c.full_name);
        if !county.is_empty() {
            let Some(k) = region(county).await?.filter(|r| r.parent_code.as_deref() == Some(city)) else {
                return Err(bad("invalid_county", "所选区县不属于所选城市，请重新选择"));
            };
            place.push_str(&k.full_name);
        }
        let checked = AddressInput {
            label,
            recipient,
            phone: phone.as_str().to_owned(),
            province: province.to_owned(),
            city: city.to_owned(),
            county: county.to_owned(),
            street,
            is_default: input.is_default,
        };
        Ok((checked, place))
    }

    fn seal_address(&self, a: &AddressInput) -> Result<String, IdentityError> {
        let sealed = Sealed {
            recipient: a.recipient.clone(),
            phone: a.phone.clone(),
            province: a.province.clone(),
            city: a.city.clone(),
            county: a.county.clone(),
            street: a.street.clone(),
        };
        let json = serde_json::to_string(&sealed).map_err(|e| IdentityError::Internal(e.to_string()))?;
        Ok(self.keys.encrypt(&json))
    }

    async fn open_address(&self, row: Row) -> Result<Address, IdentityError> {
        let json = self.keys.decrypt(&row.body_enc)?;
        let s: Sealed = serde_json::from_str(&json).map_err(|e| IdentityError::Internal(e.to_string()))?;
        let mut place = String::new();
        for code in [&s.province, &s.city, &s.county] {
            if let Some(r) = crate::regions::get(&self.db, code).await? {
                place.push_str(&r.full_name);
            }
        }
        Ok(Address {
            id: row.id,
            input: AddressInput {
                label: row.label,
                recipient: s.recipient,
                phone: s.phone,
                province: s.province,
                city: s.city,
                county: s.county,
                street: s.street,
                is_default: row.is_default,
            },
            place,
            updated_at: row.updated_at,
        })
    }

    /// `owner`'s addresses, the default first, then the latest changed.
    pub async fn addresses(&self, owner: AccountId) -> Result<Vec<Address>, IdentityError> {
        let mut conn = self.db.conn().await?;
        let rows: Vec<Row> = run!(conn, |c| sqlx::query_as(
            "SELECT id, label, body_enc, is_default, updated_at FROM account_addresses
             WHERE account_id = $1 ORDER BY is_default DESC, updated_at DESC"
        )
        .bind(owner.as_uuid())
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.open_address(row).await?);
        }
        Ok(out)
    }

    /// One of `owner`'s addresses (another's: not found).
    pub async fn address(&self, owner: AccountId, id: Uuid) -> Result<Address, IdentityError> {
        let mut conn = self.db.conn().await?;
        let row: Option<Row> = run!(conn, |c| sqlx::query_as(
            "SELECT id, label, body_enc, is_default, updated_at FROM account_addresses
             WHERE id = $1 AND account_id = $2"
        )
        .bind(id)
        .bind(owner.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        self.open_address(row.ok_or(IdentityError::NotFound("地址"))?).await
    }

    /// Keeps a new address (or, with `id`, changes one of `owner`'s). The first address is the
    /// default; one marked default takes it from the others.
    pub async fn save_address(
        &self,
        actor: &Actor,
        owner: AccountId,
        id: Option<Uuid>,
        input: &AddressInput,
    ) -> Result<Address, IdentityError> {
        let (checked, _) = self.check_address(input).await?;
        let sealed = self.seal_address(&checked)?;
        let now = self.db.now();
        let mut tx = self.db.begin().await?;
        // The owner's row first: saves at once take turns, so the count below holds.
        exec!(tx, sqlx::query("UPDATE accounts SET id = id WHERE id = $1").bind(owner.as_uuid()))?;
        let count: i64 =
            run!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM account_addresses WHERE account_id = $1")
                .bind(owner.as_uuid())
                .fetch_one(&mut *c)
                .await)?;
        let make_default = checked.is_default || count == 0 || (id.is_some() && count == 1);
        if make_default {
            exec!(
                tx,
                sqlx::query("UPDATE account_addresses SET is_default = $1 WHERE account_id = $2")
                    .bind(false)
                    .bind(owner.as_uuid())
            )?;
        }
        let id = match id {
            Some(id) => {
                let changed = exec!(
                    tx,
                    sqlx::query(
                        "UPDATE account_addresses SET label = $1, body_enc = $2,
                            is_default = (is_default OR $3), updated_at = $4
                         WHERE id = $5 AND account_id = $6"
                    )
                    .bind(&checked.label)
                    .bind(&sealed)
                    .bind(make_default)
                    .bind(now)
                    .bind(id)
                    .bind(owner.as_uuid())
                )?;
                if changed == 0 {
                    return Err(IdentityError::NotFound("地址"));
                }
                id
            }
            None => {
                if count >= MAX_ADDRESSES {
                    return Err(bad(
                        "too_many_addresses",
                        &format!("最多保存 {MAX_ADDRESSES} 个常用地址，请先删除不用的地址"),
                    ));
                }
                let id = Uuid::now_v7();
                exec!(
                    tx,
                    sqlx::query(
                        "INSERT INTO account_addresses (id, account_id, label, body_enc, is_default, created_at, updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $6)"
                    )
                    .bind(id)
                    .bind(owner.as_uuid())
                    .bind(&checked.label)
                    .bind(&sealed)
                    .bind(make_default)
                    .bind(now)
                )?;
                id
            }
        };
        audit::record(&mut tx, actor, Event::success("account.address_save", "address", id)).await?;
        tx.commit().await?;
        self.address(owner, id).await
    }

    /// Removes one of `owner`'s addresses; when it was the default, the latest changed of the
    /// others becomes the default.
    pub async fn delete_address(&self, actor: &Actor, owner: AccountId, id: Uuid) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        exec!(tx, sqlx::query("UPDATE accounts SET id = id WHERE id = $1").bind(owner.as_uuid()))?;
        let deleted = exec!(
            tx,
            sqlx::query("DELETE FROM account_addresses WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(owner.as_uuid())
        )?;
        if deleted == 0 {
            return Err(IdentityError::NotFound("地址"));
        }
        exec!(
            tx,
            sqlx::query(
                "UPDATE account_addresses SET is_default = $1 WHERE id = (
                     SELECT id FROM account_addresses WHERE account_id = $2 ORDER BY updated_at DESC LIMIT 1)
                 AND NOT EXISTS (SELECT 1 FROM account_addresses WHERE account_id = $2 AND is_default)"
            )
            .bind(true)
            .bind(owner.as_uuid())
        )?;
        audit::record(&mut tx, actor, Event::success("account.address_delete", "address", id)).await?;
        tx.commit().await?;
        Ok(())
    }
}
