//! The payment voucher (缴费电子凭证) a payer downloads once the gateway confirmed the payment:
//! what was paid for, line by line, the total in figures and in capital numerals, the bank and
//! the gateway's payment number, and the electronic receipt number (票据代码 + 票据号码 +
//! 校验码, design step 9) as text and as a QR code, with which the payer collects the formal
//! fiscal receipt from the collecting unit (step 10).

use crate::order::{Order, OrderState};
use crate::{OrderId, PaymentError, Payments};
use govhall_core::clock::china_time;
use govhall_identity::{Access, AccountId, Permission};
use govhall_print::{Block, PrintFont, Printout};

/// The voucher of a paid order as blocks.
pub fn printout(order: &Order, serial: &str) -> Result<Printout, PaymentError> {
    let Some(receipt) =
        order.receipt.as_ref().filter(|_| matches!(order.state, OrderState::Success | OrderState::Refunded))
    else {
        return Err(PaymentError::WrongState(format!("缴款单{}，没有缴费凭证", order.state.label())));
    };
    let paid_at = order.paid_at.map(|t| china_time(t).format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default();
    let qr = format!(
        "票据代码:{};票据号码:{};校验码:{};金额:{};缴款码:{};日期:{}",
        receipt.code,
        receipt.number,
        receipt.check,
        order.total.yuan(),
        order.notice_number,
        paid_at.get(..10).unwrap_or_default()
    );
    let mut blocks = vec![
        Block::Title("网上缴费电子凭证".into()),
        Block::Qr {
            content: qr,
            caption: vec![
                format!("电子票据号：{}", receipt.display()),
                format!("票据代码：{}  票据号码：{}", receipt.code, receipt.number),
                format!("校验码：{}", receipt.check),
                "可凭电子票据号到执收单位领取财政收据".into(),
            ],
        },
        Block::Heading("缴款信息".into()),
        Block::Pair("缴款码".into(), order.notice_number.clone()),
        Block::Pair("缴款事项".into(), order.subject.clone()),
        Block::Pair("办件编号".into(), serial.to_owned()),
        Block::Pair("缴款人".into(), order.payer_name.clone()),
        Block::Pair("执收单位编码".into(), order.merchant.clone()),
        Block::Heading("收费明细".into()),
    ];
    for line in &order.lines {
        blocks.push(Block::Pair(format!("{}（{}）", line.name, line.code), format!("{} 元", line.amount.yuan())));
    }
    blocks.extend([
        Block::Pair("合计（小写）".into(), format!("¥{}", order.total.yuan())),
        Block::Pair("合计（大写）".into(), format!("人民币{}", order.total.in_words())),
        Block::Heading("支付信息".into()),
        Block::Pair("支付时间".into(), paid_at),
        Block::Pair("付款银行".into(), order.bank.clone().unwrap_or_default()),
        Block::Pair("支付网关交易号".into(), order.trade_no.clone().unwrap_or_default()),
    ]);
    if order.refunded.fen() > 0 {
        blocks.push(Block::Pair("已退款".into(), format!("{} 元（原路退回）", order.refunded.yuan())));
    }
    blocks.push(Block::Text(
        "本凭证由网上政务服务大厅根据财政支付网关返回的支付结果生成，正式财政收据以执收单位开具的为准。".into(),
    ));
    Ok(Printout {
        title: format!("网上缴费电子凭证 {}", order.notice_number),
        blocks,
        footer: format!("缴款码 {}", order.notice_number),
        keywords: Vec::new(),
    })
}

impl Payments {
    /// The voucher of a paid order, for its payer.
    pub async fn receipt_pdf(&self, viewer: AccountId, id: OrderId, font: &PrintFont) -> Result<Vec<u8>, PaymentError> {
        let order = self.payer_order(viewer, id).await?;
        self.render_receipt(order, font).await
    }

    /// The voucher of a paid order, for staff whose `case.view` reaches its case.
    pub async fn staff_receipt_pdf(
        &self,
        access: &Access,
        id: OrderId,
        font: &PrintFont,
    ) -> Result<Vec<u8>, PaymentError> {
        let order = self.staff_order(access, Permission::CaseView, id).await?;
        self.render_receipt(order, font).await
    }

    async fn render_receipt(&self, order: Order, font: &PrintFont) -> Result<Vec<u8>, PaymentError> {
        let serial = self.cases().serial_of(order.case_id).await?;
        let printout = printout(&order, &serial)?;
        let font = font.clone();
        tokio::task::spawn_blocking(move || printout.render(&font))
            .await
            .map_err(|e| PaymentError::Internal(e.to_string()))?
            .map_err(|e| PaymentError::Internal(format!("无法生成缴费凭证：{e}")))
    }
}
