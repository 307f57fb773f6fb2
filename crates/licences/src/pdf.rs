//! A licence's printout (PDF with the CJK font): its fields, the holder in full (it is the
//! holder's own copy), the signature, and a QR code that opens the public verification page.

use crate::model::Licence;
use crate::{LicenceError, LicenceId, Licences};
use govhall_core::clock::china_date;
use govhall_identity::{Access, AccountId};
use govhall_print::{Block, PrintFont, Printout};

/// The keyword a licence's PDF carries its identifier in (`govhall-licence:<identifier>`), so
/// that an uploaded copy can be checked against the registry.
pub const KEYWORD_PREFIX: &str = "govhall-licence:";

/// The printout of `licence`; the QR code points at `verify_url`.
pub fn printout(licence: &Licence, verify_url: &str, today: chrono::NaiveDate) -> Printout {
    let status = licence.status_on(today);
    let mut blocks = vec![
        Block::Title(licence.type_name.clone()),
        Block::Qr {
            content: verify_url.to_owned(),
            caption: vec![
                format!("证照编号：{}", licence.number),
                format!("当前状态：{}", status.label()),
                "扫描二维码核验真伪".into(),
            ],
        },
        Block::Heading("持证主体".into()),
        Block::Pair(
            if licence.holder_kind == crate::model::HolderKind::Enterprise { "名称" } else { "姓名" }.into(),
            licence.holder_name.clone(),
        ),
        Block::Pair(licence.holder_kind.number_label().into(), licence.holder_number.clone()),
        Block::Heading("证照信息".into()),
    ];
    for (_, label, value) in &licence.fields {
        blocks.push(Block::Pair(label.clone(), value.clone()));
    }
    blocks.extend([
        Block::Pair("有效期".into(), licence.validity()),
        Block::Pair("颁发机构".into(), licence.issuer_name.clone()),
        Block::Pair("证照标识".into(), licence.identifier.clone()),
        Block::Heading("数字签名".into()),
        Block::Pair("签名算法".into(), "SM2（GB/T 32918）".into()),
        Block::Pair("签名密钥标识".into(), licence.key_id.clone()),
        Block::Pair("签名值".into(), licence.signature.clone()),
    ]);
    if !licence.revoked_reason.is_empty() {
        blocks.push(Block::Pair("注销原因".into(), licence.revoked_reason.clone()));
    }
    blocks.push(Block::Text(
        "本电子证照由颁发机构通过网上政务服务大厅签发，与纸质证照具有同等效力。核验时以扫描二维码或在“证照核验”页面输入证照标识所得结果为准。"
            .into(),
    ));
    Printout {
        title: format!("{} {}", licence.type_name, licence.number),
        blocks,
        footer: format!("证照标识 {}", licence.identifier),
        keywords: vec![format!("{KEYWORD_PREFIX}{}", licence.identifier)],
    }
}

impl Licences {
    /// Where anyone verifies `licence`.
    pub fn verify_url(&self, identifier: &str) -> String {
        format!("{}/verify/{identifier}", self.public_url())
    }

    fn render(&self, licence: &Licence, font: &PrintFont) -> Result<Vec<u8>, LicenceError> {
        let today = china_date(self.db().now());
        printout(licence, &self.verify_url(&licence.identifier), today)
            .render(font)
            .map_err(|e| LicenceError::Internal(e.to_string()))
    }

    /// The printout of one of `account`'s licences.
    pub async fn pdf(&self, account: AccountId, id: LicenceId, font: &PrintFont) -> Result<Vec<u8>, LicenceError> {
        let licence = self.mine_by_id(account, id).await?;
        self.render(&licence, font)
    }

    /// The printout of a licence, for staff who may manage it.
    pub async fn staff_pdf(&self, access: &Access, id: LicenceId, font: &PrintFont) -> Result<Vec<u8>, LicenceError> {
        let licence = self.for_staff(access, id).await?;
        self.render(&licence, font)
    }
}
