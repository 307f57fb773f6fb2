//! What staff do with a reconciliation: the days, a day's discrepancies, resolving one with a
//! note (audited), and the day as an Excel workbook. Province-wide `payment.manage` only.

use super::{Discrepancy, Reconciliation};
use crate::{PaymentError, Payments};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{run, sqlx};
use govhall_identity::{Access, Permission, Target};
use uuid::Uuid;

impl Payments {
    /// The reconciled days, newest first (staff with `payment.manage` over the whole province).
    pub async fn reconciliations(&self, access: &Access, limit: i64) -> Result<Vec<Reconciliation>, PaymentError> {
        may_reconcile(access)?;
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| {
            sqlx::query_as(
            "SELECT id, day, merchant, statement_lines, statement_fen, hall_orders, hall_fen, matched, settled, discrepancies,
                runs, finished_at
             FROM payment_reconciliations ORDER BY day DESC, merchant LIMIT $1"
        )
        .bind(limit)
        .fetch_all(&mut *c)
        .await
        })?)
    }

    /// A day's reconciliation and its discrepancies.
    pub async fn reconciliation(
        &self,
        access: &Access,
        id: Uuid,
    ) -> Result<(Reconciliation, Vec<Discrepancy>), PaymentError> {
        may_reconcile(access)?;
        let mut conn = self.db().conn().await?;
        let rec = reconciliation_by_id(&mut conn, id).await?.ok_or(PaymentError::NotFound)?;
        let items: Vec<Discrepancy> = run!(conn, |c| {
            sqlx::query_as(
            "SELECT id, reconciliation_id, notice_number, kind, statement_fen, hall_fen, trade_no, detail, resolved_at,
                resolved_by, resolution
             FROM payment_discrepancies WHERE reconciliation_id = $1 ORDER BY resolved_at IS NOT NULL, kind, notice_number"
        )
        .bind(id)
        .fetch_all(&mut *c)
        .await
        })?;
        Ok((rec, items))
    }

    /// Resolves a discrepancy with a note (what was done: refunded, corrected at the gateway …).
    pub async fn resolve(&self, access: &Access, actor: &Actor, id: Uuid, note: &str) -> Result<(), PaymentError> {
        may_reconcile(access)?;
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 500 {
            return Err(PaymentError::Invalid("请填写处理说明（不超过 500 个字）".into()));
        }
        let by = actor.label.split_once(':').map_or(actor.label.as_str(), |(_, n)| n).to_owned();
        let mut tx = self.db().begin().await?;
        let notice: Option<String> = run!(tx, |c| sqlx::query_scalar(
            "UPDATE payment_discrepancies SET resolved_at = $1, resolved_by = $2, resolution = $3
             WHERE id = $4 AND resolved_at IS NULL RETURNING notice_number"
        )
        .bind(self.db().now())
        .bind(&by)
        .bind(note)
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
        let Some(notice) = notice else {
            return Err(PaymentError::WrongState("该差异不存在或已处理".into()));
        };
        audit::record(
            &mut tx,
            actor,
            Event::success("payment.discrepancy_resolve", "payment_order", &notice).detail(note),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Payments {
    /// A day's reconciliation as an Excel workbook: the totals, then every discrepancy with its
    /// resolution.
    pub async fn reconciliation_workbook(&self, access: &Access, id: Uuid) -> Result<Vec<u8>, PaymentError> {
        let (rec, items) = self.reconciliation(access, id).await?;
        workbook(&rec, &items)
    }
}

fn yuan(fen: i64) -> String {
    govhall_core::Money::from_fen(fen).map(govhall_core::Money::yuan).unwrap_or_else(|_| format!("{fen} 分"))
}

/// The workbook's bytes.
pub fn workbook(rec: &Reconciliation, items: &[Discrepancy]) -> Result<Vec<u8>, PaymentError> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| PaymentError::Internal(format!("生成 Excel 失败：{e}"));
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name("对账汇总").map_err(xlsx)?;
    let summary = [
        ("对账日期", rec.day.to_string()),
        ("执收单位编码", rec.merchant.clone()),
        ("对账单笔数", rec.statement_lines.to_string()),
        ("对账单金额（元）", yuan(rec.statement_fen)),
        ("大厅已缴笔数", rec.hall_orders.to_string()),
        ("大厅已缴金额（元）", yuan(rec.hall_fen)),
        ("一致", rec.matched.to_string()),
        ("补记入账", rec.settled.to_string()),
        ("差异", rec.discrepancies.to_string()),
        ("对账次数", rec.runs.to_string()),
    ];
    for (row, (k, v)) in (0u32..).zip(summary) {
        sheet.write_string_with_format(row, 0, k, &bold).map_err(xlsx)?;
        sheet.write_string(row, 1, v).map_err(xlsx)?;
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("差异明细").map_err(xlsx)?;
    let headers = [
        "缴款码",
        "差异类型",
        "对账单金额（元）",
        "大厅金额（元）",
        "交易号",
        "说明",
        "处理人",
        "处理时间",
        "处理说明",
    ];
    for (col, title) in (0u16..).zip(headers) {
        sheet.write_string_with_format(0, col, title, &bold).map_err(xlsx)?;
    }
    for (row, d) in (1u32..).zip(items) {
        let values = [
            d.notice_number.clone(),
            d.kind_label().to_owned(),
            d.statement_fen.map(yuan).unwrap_or_default(),
            d.hall_fen.map(yuan).unwrap_or_default(),
            d.trade_no.clone(),
            d.detail.clone(),
            d.resolved_by.clone().unwrap_or_default(),
            d.resolved_at
                .map(|t| govhall_core::clock::china_time(t).format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            d.resolution.clone(),
        ];
        for (col, v) in (0u16..).zip(values) {
            sheet.write_string(row, col, v).map_err(xlsx)?;
        }
    }
    workbook.save_to_buffer().map_err(xlsx)
}

fn may_reconcile(access: &Access) -> Result<(), PaymentError> {
    if access.covers(Permission::PaymentManage, &Target::default()) {
        Ok(())
    } else {
        Err(PaymentError::Forbidden("对账需要全省范围的“管理网上缴费”权限".into()))
    }
}

pub(super) async fn reconciliation_by_id(
    conn: &mut impl govhall_db::Target,
    id: Uuid,
) -> Result<Option<Reconciliation>, PaymentError> {
    Ok(run!(conn, |c| {
        sqlx::query_as(
        "SELECT id, day, merchant, statement_lines, statement_fen, hall_orders, hall_fen, matched, settled, discrepancies,
            runs, finished_at
         FROM payment_reconciliations WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
    })?)
}
