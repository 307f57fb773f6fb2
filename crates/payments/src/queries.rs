//! Reading orders: a case's for its applicant and for staff, and the payer's open ones.

use crate::order::{self, Order, OrderRow, OrderState};
use crate::{OrderId, PaymentError, Payments};
use govhall_cases::CaseId;
use govhall_cases::queries::target;
use govhall_db::{run, sqlx};
use govhall_identity::{Access, AccountId, Permission};

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

    /// The orders `viewer` can still pay, oldest expiry first (我的办件's 待缴费).
    pub async fn payable_for(&self, viewer: AccountId) -> Result<Vec<Order>, PaymentError> {
        let mut conn = self.db().conn().await?;
        let sql = format!(
            "SELECT {} FROM payment_orders WHERE payer_id = $1 AND state IN {} AND expires_at > $2 ORDER BY expires_at LIMIT 50",
            order::ORDER_COLUMNS,
            OrderState::PAYABLE_SQL
        );
        let now = self.db().now();
        let rows: Vec<OrderRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(viewer.as_uuid())
            .bind(now)
            .fetch_all(&mut *c)
            .await)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = OrderId::from_uuid(row.id);
            if let Some(order) = order::order_by_id(&mut conn, id).await? {
                out.push(order);
            }
        }
        Ok(out)
    }
}
