//! Reading orders: a case's for its applicant and for staff, the payer's open ones, and the
//! history of a person's or an enterprise's orders.

use crate::order::{self, Order, OrderRow, OrderState};
use crate::{OrderId, PaymentError, Payments};
use govhall_cases::CaseId;
use govhall_cases::queries::target;
use govhall_cases::tasks::Whose;
use govhall_db::{run, sqlx};
use govhall_identity::{Access, AccountId, Permission};

/// Orders on a page of the payer's history.
pub const HISTORY_PAGE: i64 = 20;

/// A refund as staff see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Refund {
    /// The order refunded.
    pub order_id: uuid::Uuid,
    /// How much, in fen.
    pub amount_fen: i64,
    /// Why.
    pub reason: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    /// Who asked for it.
    pub by_name: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Refund {
    /// The state in Chinese.
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "succeeded" => "已退款",
            "failed" => "支付网关拒绝",
            _ => "等待支付网关确认",
        }
    }
}

impl Payments {
    /// A case's orders, newest first, for its applicant (others: not found).
    pub async fn case_orders_for_payer(&self, viewer: AccountId, case: CaseId) -> Result<Vec<Order>, PaymentError> {
        let (c, _) = self.cases().for_reckoning(case).await?;
        if !self.cases().applicant_may_see(viewer, &c).await? {
            return Err(PaymentError::NotFound);
        }
        let mut conn = self.db().conn().await?;
        order::orders_of_case(&mut conn, case).await
    }

    /// A case's orders, newest first, for staff whose `case.view` reaches it.
    pub async fn case_orders_for_staff(&self, access: &Access, case: CaseId) -> Result<Vec<Order>, PaymentError> {
        let (c, _) = self.cases().for_reckoning(case).await?;
        if !access.covers(Permission::CaseView, &target(&c)) {
            return Err(PaymentError::NotFound);
        }
        let mut conn = self.db().conn().await?;
        order::orders_of_case(&mut conn, case).await
    }

    /// The refunds of a case's orders, oldest first, for staff whose `case.view` reaches it.
    pub async fn case_refunds_for_staff(&self, access: &Access, case: CaseId) -> Result<Vec<Refund>, PaymentError> {
        let (c, _) = self.cases().for_reckoning(case).await?;
        if !access.covers(Permission::CaseView, &target(&c)) {
            return Err(PaymentError::NotFound);
        }
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(
            "SELECT r.order_id, r.amount_fen, r.reason, r.state, r.by_name, r.created_at
             FROM payment_refunds r JOIN payment_orders o ON o.id = r.order_id
             WHERE o.case_id = $1 ORDER BY r.created_at"
        )
        .bind(case.as_uuid())
        .fetch_all(&mut *c)
        .await)?)
    }

    /// The orders `viewer` can still pay, oldest expiry first (我的办件's 待缴费): theirs, and
    /// those of the enterprises they are an active member of.
    pub async fn payable_for(&self, viewer: AccountId) -> Result<Vec<Order>, PaymentError> {
        let enterprises: Vec<uuid::Uuid> = self
            .identity()
            .memberships_of(viewer)
            .await?
            .into_iter()
            .filter(|m| m.status == "active")
            .map(|m| m.enterprise_id)
            .collect();
        let mut conn = self.db().conn().await?;
        let theirs = if enterprises.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..enterprises.len()).map(|i| format!("${}", i + 3)).collect();
            format!(" OR enterprise_id IN ({})", marks.join(", "))
        };
        let sql = format!(
            "SELECT {} FROM payment_orders WHERE (payer_id = $1{theirs}) AND state IN {} AND expires_at > $2
             ORDER BY expires_at LIMIT 50",
            order::ORDER_COLUMNS,
            OrderState::PAYABLE_SQL
        );
        let now = self.db().now();
        let rows: Vec<OrderRow> = run!(conn, |c| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(viewer.as_uuid()).bind(now);
            for e in &enterprises {
                q = q.bind(*e);
            }
            q.fetch_all(&mut *c).await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = OrderId::from_uuid(row.id);
            if let Some(order) = order::order_by_id(&mut conn, id).await? {
                out.push(order);
            }
        }
        Ok(out)
    }

    /// `whose` orders, newest first, [`HISTORY_PAGE`] at a time (我的缴费): a person's own (not
    /// those of the enterprises they act for), or an enterprise's for its active members (anyone
    /// else: not found). Says whether there are more.
    pub async fn history(
        &self,
        viewer: AccountId,
        whose: Whose,
        page: u32,
    ) -> Result<(Vec<Order>, bool), PaymentError> {
        self.cases().check_whose(viewer, whose).await?;
        let (filter, id) = match whose {
            Whose::Person(a) => ("payer_id = $1 AND enterprise_id IS NULL", a.as_uuid()),
            Whose::Enterprise(e) => ("enterprise_id = $1", e.as_uuid()),
        };
        let sql = format!(
            "SELECT id FROM payment_orders WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        let mut conn = self.db().conn().await?;
        let ids: Vec<uuid::Uuid> = run!(conn, |c| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id)
            .bind(HISTORY_PAGE + 1)
            .bind(i64::from(page) * HISTORY_PAGE)
            .fetch_all(&mut *c)
            .await)?;
        let more = ids.len() as i64 > HISTORY_PAGE;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids.into_iter().take(HISTORY_PAGE as usize) {
            if let Some(order) = order::order_by_id(&mut conn, OrderId::from_uuid(id)).await? {
                out.push(order);
            }
        }
        Ok((out, more))
    }
}
