//! Public verification (证照核验, design section 2.3.3): anyone with a licence's identifier —
//! typed, or read from the QR code on its printout — learns whether the registry holds it,
//! whether its data still carry the issuer's signature, and where it stands (valid, expired,
//! revoked); they see the holder only masked. What is shown is rebuilt from the signed data,
//! never from copies kept beside it.

use crate::keyring::KeyCheck;
use crate::model::{HolderKind, Status, mask_number};
use crate::store::canonical;
use crate::{LicenceError, Licences, identifier};
use govhall_cases::model::mask_name;
use govhall_core::clock::china_date;
use serde::Serialize;

/// What verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Not a licence identifier (or mistyped: its check character does not match).
    Malformed,
    /// Well formed, but the registry holds no such licence.
    NotFound,
    /// The registry's record no longer matches its signature.
    Tampered,
    /// Signed by a key this hall does not hold.
    UnknownKey,
    /// Signed by a key the hall has withdrawn (it leaked): the signature proves nothing.
    WithdrawnKey,
    /// The record carries the issuer's signature.
    Genuine,
}

impl Verdict {
    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Malformed => "证照标识格式不正确，请核对后重新输入",
            Verdict::NotFound => "未查询到该电子证照",
            Verdict::Tampered => "证照数据与签名不符，证照可能被篡改，请勿采信",
            Verdict::UnknownKey => "证照签名密钥无法识别，无法确认真伪",
            Verdict::WithdrawnKey => "签发该证照的签名密钥已停用，无法确认真伪，请向颁发机构核实",
            Verdict::Genuine => "签名验证通过，证照数据由颁发机构签发且未被改动",
        }
    }
}

/// A licence as the public sees it: the holder masked.
#[derive(Debug, Clone, Serialize)]
pub struct Shown {
    /// The identifier.
    pub identifier: String,
    /// The type.
    pub type_name: String,
    /// The number.
    pub number: String,
    /// Person or enterprise.
    pub holder_kind: HolderKind,
    /// The holder's name, masked for a person.
    pub holder_name: String,
    /// The holder's number, masked.
    pub holder_number: String,
    /// The issuing department.
    pub issuer_name: String,
    /// The validity as printed.
    pub validity: String,
    /// Where it stands today.
    pub status: Status,
    /// Where it stands, in Chinese.
    pub status_label: &'static str,
    /// Why it was revoked, when it was.
    pub revoked_reason: String,
    /// The identifier of the licence that replaced it (换发), if one did.
    pub replaced_by: Option<String>,
}

/// The answer to a verification.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// What was found.
    pub verdict: Verdict,
    /// It in Chinese.
    pub message: &'static str,
    /// Whether the licence is genuine and usable today.
    pub usable: bool,
    /// The licence, when genuine.
    pub licence: Option<Shown>,
}

impl Verification {
    fn only(verdict: Verdict) -> Verification {
        Verification { verdict, message: verdict.label(), usable: false, licence: None }
    }
}

impl Licences {
    /// Verifies the licence with identifier `text`.
    pub async fn verify(&self, text: &str) -> Result<Verification, LicenceError> {
        let text = text.trim().to_ascii_uppercase();
        if text.len() > 200 || !identifier::is_well_formed(&text) {
            return Ok(Verification::only(Verdict::Malformed));
        }
        let Some(row) = self.row_by_identifier(&text).await? else {
            return Ok(Verification::only(Verdict::NotFound));
        };
        let Ok(licence) = self.open(row) else {
            return Ok(Verification::only(Verdict::Tampered));
        };
        if licence.identifier != text {
            return Ok(Verification::only(Verdict::Tampered));
        }
        match self.check_signature(&licence.key_id, &canonical(&licence).bytes(), &licence.signature).await? {
            KeyCheck::Good => {}
            KeyCheck::Bad => return Ok(Verification::only(Verdict::Tampered)),
            KeyCheck::Unknown => return Ok(Verification::only(Verdict::UnknownKey)),
            KeyCheck::Withdrawn => return Ok(Verification::only(Verdict::WithdrawnKey)),
        }
        let status = licence.status_on(china_date(self.db().now()));
        let shown = Shown {
            identifier: licence.identifier.clone(),
            type_name: licence.type_name.clone(),
            number: licence.number.clone(),
            holder_kind: licence.holder_kind,
            holder_name: mask_name(&licence.holder_name, licence.holder_kind == HolderKind::Enterprise),
            holder_number: mask_number(licence.holder_kind, &licence.holder_number),
            issuer_name: licence.issuer_name.clone(),
            validity: licence.validity(),
            status,
            status_label: status.label(),
            revoked_reason: licence.revoked_reason.clone(),
            replaced_by: licence.replaced_by.clone(),
        };
        Ok(Verification {
            verdict: Verdict::Genuine,
            message: Verdict::Genuine.label(),
            usable: status == Status::Valid,
            licence: Some(shown),
        })
    }
}

impl Licences {
    /// Verifies an uploaded copy of a licence's PDF: the identifier the hall wrote into its
    /// keywords is looked up and verified like a typed one. What the registry holds is the
    /// answer — the PDF's own text is not trusted — so the page shows the registry's record for
    /// the reader to compare with the copy. A file that is not such a PDF says so.
    pub async fn verify_pdf(&self, bytes: &[u8]) -> Result<Verification, LicenceError> {
        if bytes.len() > govhall_files::pdf_info::MAX_BYTES {
            return Err(LicenceError::Invalid("文件超过 10 MB，不是本大厅签发的电子证照 PDF".into()));
        }
        if !bytes.starts_with(b"%PDF-") {
            return Err(LicenceError::Invalid("上传的文件不是 PDF".into()));
        }
        let keywords = govhall_files::pdf_info::keywords(bytes).unwrap_or_default();
        let identifier = keywords
            .split([',', ';', ' '])
            .find_map(|k| k.trim().strip_prefix(crate::pdf::KEYWORD_PREFIX))
            .ok_or_else(|| {
                LicenceError::Invalid(
                    "文件中没有电子证照标识：它不是本大厅签发的电子证照 PDF（或已被另存、打印成新文件），请扫描证照上的二维码核验"
                        .into(),
                )
            })?;
        self.verify(identifier).await
    }
}
