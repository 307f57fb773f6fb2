//! A hall ready for online applications: the case hall's item given its own form, self-check
//! and two material slots, published through editing and review; real PDF and PNG files.

use super::{CaseHall, TestApp};
use govhall_audit::Actor;
use govhall_catalog::model::Material;
use govhall_identity::rbac::Grantee;
use govhall_identity::{DepartmentId, Permission as P, Scope};
use serde_json::json;

pub struct ApplyHall {
    pub hall: CaseHall,
    pub code: String,
    pub editor: govhall_identity::AccountId,
    pub publisher: govhall_identity::AccountId,
}

pub const EDITOR_PHONE: &str = "13600000301";
pub const PUBLISHER_PHONE: &str = "13600000302";

/// The form the tests apply with: the profile's values, a choice that shows a field, dates
/// with a rule, money, a group with at most three rows, an address and a promise.
pub fn test_form() -> serde_json::Value {
    json!({"sections": [
        {"key": "applicant", "title": "申请人信息", "fields": [
            {"key": "name", "label": "申请人姓名", "type": "text", "required": true, "prefill": "real_name"},
            {"key": "id_number", "label": "身份证号码", "type": "resident_id", "required": true, "prefill": "id_number"},
            {"key": "phone", "label": "联系电话", "type": "mobile", "required": true, "prefill": "phone"},
            {"key": "address", "label": "联系地址", "type": "address", "required": true}]},
        {"key": "details", "title": "申请内容", "fields": [
            {"key": "married", "label": "是否已婚", "type": "choice", "options": ["是", "否"], "required": true},
            {"key": "spouse", "label": "配偶姓名", "type": "text", "required": true,
             "show_if": {"field": "married", "equals": ["是"]}},
            {"key": "start", "label": "开始日期", "type": "date", "required": true},
            {"key": "end", "label": "结束日期", "type": "date", "required": true},
            {"key": "amount", "label": "申请金额", "type": "money", "max": 100000},
            {"key": "members", "label": "家庭成员", "type": "group", "max": 3, "fields": [
                {"key": "name", "label": "姓名", "type": "text", "required": true},
                {"key": "relation", "label": "关系", "type": "choice", "options": ["配偶", "子女", "父母"]}]},
            {"key": "promise", "label": "本人承诺所填信息真实有效", "type": "consent", "required": true}]}],
        "rules": [{"field": "end", "after": "start", "message": "结束日期应晚于开始日期"}]})
}

pub fn test_check() -> serde_json::Value {
    json!({"questions": [
        {"key": "resident", "text": "您是否具有本省户籍？", "options": ["是", "否"]},
        {"key": "adult", "text": "您是否年满18周岁？", "options": ["是", "否"]}],
      "rules": [
        {"when": {"resident": ["否"]}, "reason": "本事项仅受理本省户籍居民", "instead": "请向户籍所在地部门申请"},
        {"when": {"adult": ["否"]}, "reason": "申请人须年满18周岁", "instead": "请由监护人代为申请"}]})
}

impl ApplyHall {
    pub async fn new() -> ApplyHall {
        Self::from(CaseHall::new().await).await
    }

    pub async fn from(hall: CaseHall) -> ApplyHall {
        let t = &hall.t;
        let department = DepartmentId::from_uuid(hall.item.item.department_id);
        let editor = t.staff(EDITOR_PHONE, department).await;
        let publisher = t.staff(PUBLISHER_PHONE, department).await;
        let identity = t.app.identity();
        let actor = Actor::system("test");
        let edit = identity.save_role(&actor, "item_editor", "事项编辑", &[P::ItemEdit]).await.unwrap();
        let publish = identity.save_role(&actor, "item_publisher", "事项审核", &[P::ItemPublish]).await.unwrap();
        identity.grant(&actor, edit, Grantee::Account(editor), Scope::Department).await.unwrap();
        identity.grant(&actor, publish, Grantee::Account(publisher), Scope::Department).await.unwrap();
        let code = hall.item.item.code.clone();
        let a = ApplyHall { hall, code, editor, publisher };
        let mut content = a.hall.item.content.clone();
        content.materials = vec![
            Material {
                name: "身份证明".into(),
                required: true,
                formats: "jpg、png、pdf".into(),
                ..Material::default()
            },
            Material {
                name: "其他证明材料".into(),
                required: false,
                formats: "pdf".into(),
                template_url: "https://example.gov.cn/template.docx".into(),
                ..Material::default()
            },
        ];
        content.form = Some(serde_json::from_value(test_form()).unwrap());
        content.eligibility = Some(serde_json::from_value(test_check()).unwrap());
        a.publish(&content).await;
        a
    }

    pub fn t(&self) -> &TestApp {
        &self.hall.t
    }

    /// Another online item of the catalogue, published with `materials` (and the tests' form) by
    /// staff who may edit and publish anywhere.
    pub async fn other_item(&self, materials: Vec<Material>) -> String {
        let a = self;
        let t = a.t();
        let db = t.app.db();
        let identity = t.app.identity();
        let actor = Actor::system("test");
        let edit = identity.save_role(&actor, "item_editor_all", "事项编辑（全省）", &[P::ItemEdit]).await.unwrap();
        let publish =
            identity.save_role(&actor, "item_publisher_all", "事项审核（全省）", &[P::ItemPublish]).await.unwrap();
        identity.grant(&actor, edit, Grantee::Account(a.editor), Scope::All).await.unwrap();
        identity.grant(&actor, publish, Grantee::Account(a.publisher), Scope::All).await.unwrap();
        let filter = govhall_catalog::store::ItemFilter::default();
        let (_, all) = govhall_catalog::store::list(db, &filter, 100, 0).await.unwrap();
        let summary = all.iter().find(|i| i.code != a.code).unwrap();
        let mut guide = govhall_catalog::store::guide(db, &summary.code).await.unwrap().unwrap();
        guide.content.online_apply = true;
        guide.content.courier = false;
        guide.content.eligibility = None;
        guide.content.form = Some(serde_json::from_value(test_form()).unwrap());
        guide.content.materials = materials;
        let as_actor = |id| Actor { id: Some(id), label: "测试".into(), client_ip: String::new() };
        let editor = identity.access(a.editor).await.unwrap();
        let publisher = identity.access(a.publisher).await.unwrap();
        govhall_catalog::editing::save_draft(db, &as_actor(a.editor), &editor, &summary.code, &guide.content, "test")
            .await
            .unwrap();
        govhall_catalog::editing::submit(db, &as_actor(a.editor), &editor, &summary.code).await.unwrap();
        govhall_catalog::editing::approve(db, &as_actor(a.publisher), &publisher, &summary.code).await.unwrap();
        t.app.catalog().forget(&summary.code);
        summary.code.clone()
    }

    /// Saves, submits and approves a new version of the item.
    pub async fn publish(&self, content: &govhall_catalog::ItemContent) {
        let t = self.t();
        let identity = t.app.identity();
        let as_actor =
            |id: govhall_identity::AccountId| Actor { id: Some(id), label: "测试".into(), client_ip: String::new() };
        let editor_access = identity.access(self.editor).await.unwrap();
        let publisher_access = identity.access(self.publisher).await.unwrap();
        let db = t.app.db();
        govhall_catalog::editing::save_draft(db, &as_actor(self.editor), &editor_access, &self.code, content, "test")
            .await
            .unwrap();
        govhall_catalog::editing::submit(db, &as_actor(self.editor), &editor_access, &self.code).await.unwrap();
        govhall_catalog::editing::approve(db, &as_actor(self.publisher), &publisher_access, &self.code).await.unwrap();
        // As the publishing page does: this node forgets its copy at once (others follow the feed).
        t.app.catalog().forget(&self.code);
    }
}

/// A small valid PDF (one page) padded with a comment to about `size` bytes.
pub fn pdf(size: usize) -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{o}\nendobj\n", i + 1).bytes());
    }
    if size > out.len() + 200 {
        out.push(b'%');
        out.extend(std::iter::repeat_n(b'x', size - out.len() - 200));
        out.push(b'\n');
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for off in offsets {
        out.extend(format!("{off:010} 00000 n \n").bytes());
    }
    out.extend(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).bytes());
    out
}

/// A real PNG image, `side` pixels square.
pub fn png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&vec![200; (side * side * 3) as usize]).unwrap();
    }
    out
}
