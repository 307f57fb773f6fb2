//! The waybill (快递运单) staff print and put on the parcel: the waybill number as text and QR
//! code, sender and recipient in full, what is inside and the case's serial number.

use crate::model::Shipment;
use crate::{Logistics, LogisticsError, ShipmentId};
use govhall_cases::transition::{Action, By};
use govhall_identity::Access;
use govhall_print::{Block, PrintFont, Printout};

/// The printout of `shipment` of case `serial`.
pub fn printout(shipment: &Shipment, serial: &str, item: &str) -> Printout {
    let waybill = shipment.waybill_no.clone().unwrap_or_default();
    let party = |p: &crate::courier::protocol::Party| {
        vec![
            Block::Pair("姓名/单位".into(), p.name.clone()),
            Block::Pair("电话".into(), p.phone.clone()),
            Block::Pair("地址".into(), p.address.clone()),
        ]
    };
    let mut blocks = vec![
        Block::Title(format!("{} 快递运单", shipment.carrier)),
        Block::Qr {
            content: waybill.clone(),
            caption: vec![format!("运单号：{waybill}"), "政务专递 · 邮费由寄件方支付".into()],
        },
        Block::Heading("收件人".into()),
    ];
    blocks.extend(party(&shipment.recipient));
    blocks.push(Block::Heading("寄件人".into()));
    blocks.extend(party(&shipment.sender));
    blocks.extend([
        Block::Heading("内件".into()),
        Block::Pair("物品".into(), format!("政务文件：{item}办理结果")),
        Block::Pair("办件编号".into(), serial.to_owned()),
        Block::Text("收件人签收：＿＿＿＿＿＿＿＿　　签收时间：＿＿＿＿年＿＿月＿＿日".into()),
    ]);
    Printout {
        title: format!("快递运单 {waybill}"),
        blocks,
        footer: format!("运单号 {waybill} · 办件编号 {serial}"),
        keywords: Vec::new(),
    }
}

impl Logistics {
    /// The waybill of `shipment`, for staff who may take its case's 送达 step (they send it).
    pub async fn waybill_pdf(
        &self,
        access: &Access,
        actor: &govhall_audit::Actor,
        shipment: ShipmentId,
        font: &PrintFont,
    ) -> Result<Vec<u8>, LogisticsError> {
        let row = self.row(&mut self.db().conn().await?, shipment).await?;
        let case = self.cases().get(access, govhall_cases::CaseId::from_uuid(row.case_id)).await?;
        let action = crate::ship::deliver_action(&case)
            .ok_or_else(|| LogisticsError::WrongState("办件已送达或已结束，不再打印运单".into()))?;
        self.cases()
            .check_move(By::Staff(access, actor), &Action { case: case.id, action, ..Action::default() })
            .await?;
        let shipment = self.open(&mut self.db().conn().await?, row).await?;
        if shipment.waybill_no.is_none() {
            return Err(LogisticsError::WrongState("快件尚未下单成功，没有运单".into()));
        }
        printout(&shipment, &case.serial_number, &case.item_name)
            .render(font)
            .map_err(|e| LogisticsError::Internal(e.to_string()))
    }
}
