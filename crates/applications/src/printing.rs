//! The printed form (反向打印) for the paper file the department keeps, and the receipt the
//! applicant keeps: PDFs with the font subset embedded, the serial number as text and as a QR
//! code that opens the progress page.

use crate::ids::{AccountId, ApplicationId, CaseId};
use crate::model::Workspace;
use crate::{ApplicationError, Applications};
use govhall_print::{Block, Printout};

impl Applications {
    fn progress_link(&self, serial: &str) -> String {
        let base = self.settings().public_url.trim_end_matches('/');
        if base.is_empty() { serial.to_owned() } else { format!("{base}/progress?serial={serial}") }
    }

    fn heading_blocks(&self, w: &Workspace) -> Vec<Block> {
        let a = &w.application;
        match &a.serial_number {
            Some(serial) => vec![Block::Qr {
                content: self.progress_link(serial),
                caption: vec![
                    format!("申办编号：{serial}"),
                    format!(
                        "提交时间：{}",
                        a.submitted_at
                            .map(|t| govhall_core::clock::china_time(t).format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_default()
                    ),
                    format!("受理部门：{}", w.department),
                    "扫码或在“办件查询”中输入申办编号和查询密码查看进度".into(),
                ],
            }],
            None => vec![Block::Text("【草稿】本申请尚未提交，仅供核对。".into())],
        }
    }

    async fn render(&self, printout: Printout) -> Result<Vec<u8>, ApplicationError> {
        let font = self.font()?.clone();
        tokio::task::spawn_blocking(move || printout.render(&font))
            .await
            .map_err(|e| ApplicationError::Internal(e.to_string()))?
            .map_err(ApplicationError::from)
    }

    /// The filled form and the list of materials of the applicant's application.
    pub async fn print_form(&self, applicant: AccountId, id: ApplicationId) -> Result<Vec<u8>, ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        self.render(self.form_printout(&w)).await
    }

    /// The printed form of the application that became case `case` (the caller has checked
    /// that the viewer may see the case).
    pub async fn print_case_form(&self, case: CaseId) -> Result<Vec<u8>, ApplicationError> {
        let a = self.of_case(case).await?.ok_or(ApplicationError::NotFound)?;
        let w = self.workspace_of(a).await?;
        self.render(self.form_printout(&w)).await
    }

    fn form_printout(&self, w: &Workspace) -> Printout {
        let a = &w.application;
        let mut blocks = vec![Block::Title(format!("{}申请表", a.item_name))];
        blocks.extend(self.heading_blocks(w));
        for section in &w.form.sections {
            let shown: Vec<_> = section.fields.iter().filter(|f| w.form.visible(f, &a.answers)).collect();
            if shown.is_empty() {
                continue;
            }
            blocks.push(Block::Heading(section.title.clone()));
            for f in shown {
                blocks.push(Block::Pair(f.label.clone(), w.form.display(f, &a.answers, self.regions())));
            }
        }
        if !w.slots.is_empty() {
            blocks.push(Block::Heading("申请材料".into()));
            for s in &w.slots {
                let files = if !s.given() {
                    if s.material.required { "未提交".to_owned() } else { "未提交（非必要）".to_owned() }
                } else {
                    s.files
                        .iter()
                        .map(|f| format!("{}（{}）", f.file_name, govhall_files::human_size(f.size as u64)))
                        .chain(s.licence.iter().filter(|l| l.problem.is_none()).map(|l| l.label.clone()))
                        .collect::<Vec<_>>()
                        .join("；")
                };
                blocks.push(Block::Pair(s.material.name.clone(), files));
            }
        }
        blocks.push(Block::Text(String::new()));
        blocks.push(Block::Text("申请人签字：____________________        日期：________________".into()));
        Printout {
            title: format!("{}申请表", a.item_name),
            blocks,
            footer: a.serial_number.as_ref().map(|s| format!("申办编号 {s}")).unwrap_or_else(|| "草稿".into()),
            keywords: Vec::new(),
        }
    }

    /// The receipt of the applicant's submitted application; the query password is printed
    /// when `password` is given and is the case's.
    pub async fn print_receipt(
        &self,
        applicant: AccountId,
        id: ApplicationId,
        password: Option<&str>,
    ) -> Result<Vec<u8>, ApplicationError> {
        let w = self.workspace(applicant, id).await?;
        let a = &w.application;
        let (Some(serial), Some(case)) = (a.serial_number.clone(), a.case_id) else {
            return Err(ApplicationError::NotFound);
        };
        let password = match password.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) if self.cases().own_password_matches(applicant, case, p).await? => p.to_owned(),
            _ => "（提交时显示的查询密码，请妥善保管）".to_owned(),
        };
        let mut blocks = vec![Block::Title("网上申报回执".into())];
        blocks.extend(self.heading_blocks(&w));
        blocks.push(Block::Heading("申报信息".into()));
        let files: usize = w.slots.iter().map(|s| s.files.len()).sum();
        for (label, value) in [
            ("申办编号", serial.clone()),
            ("查询密码", password),
            ("申请事项", a.item_name.clone()),
            ("事项编码", a.item_code.clone()),
            ("受理部门", w.department.clone()),
            ("提交材料", format!("{} 项材料，共 {files} 个文件", w.slots.iter().filter(|s| s.given()).count())),
        ] {
            blocks.push(Block::Pair(label.into(), value));
        }
        blocks.push(Block::Text(String::new()));
        blocks.push(Block::Text(
            "您的申请已提交，部门将按办事指南的时限办理。您可凭申办编号和查询密码在网上办事大厅“办件查询”中查看进度；登录后也可在“我的办件”中查看。".into(),
        ));
        self.render(Printout {
            title: "网上申报回执".into(),
            blocks,
            footer: format!("申办编号 {serial}"),
            keywords: Vec::new(),
        })
        .await
    }
}

impl Applications {
    /// The receipt of a case taken in at a counter (现场申报), printed by the staff who took it
    /// in: `password` must be the case's query password (shown once when it was registered), and
    /// `access` must see the case with its personal data.
    pub async fn print_counter_receipt(
        &self,
        access: &govhall_identity::Access,
        case: CaseId,
        password: &str,
    ) -> Result<Vec<u8>, ApplicationError> {
        if !self.cases().receipt_password_matches(access, case, password).await? {
            return Err(ApplicationError::InvalidInput("查询密码与该办件不符，请核对受理时显示的查询密码".into()));
        }
        let (c, data) = self.cases().handed_over(access, case).await?;
        let masked = govhall_core::ResidentId::parse(&data.applicant_number)
            .map(|n| n.masked())
            .unwrap_or_else(|_| data.applicant_number.clone());
        let received = govhall_core::clock::china_time(c.submitted_at).format("%Y-%m-%d %H:%M").to_string();
        let mut blocks = vec![Block::Title("受理回执".into()), Block::Heading("申请人".into())];
        blocks.push(Block::Pair("申请人".into(), data.applicant_name.clone()));
        blocks.push(Block::Pair("证件号码".into(), masked));
        blocks.push(Block::Heading("办件".into()));
        for (label, value) in [
            ("申办编号", c.serial_number.clone()),
            ("查询密码", password.trim().to_uppercase()),
            ("申请事项", c.item_name.clone()),
            ("事项编码", c.item_code.clone()),
            ("受理部门", c.department_name.clone()),
            ("申报方式", c.channel.label().to_owned()),
            ("收件时间", received.clone()),
            ("办理时限", c.limit.label()),
        ] {
            blocks.push(Block::Pair(label.into(), value));
        }
        blocks.push(Block::Heading("收取的材料".into()));
        if c.materials.is_empty() {
            blocks.push(Block::Text("（未收取材料）".into()));
        }
        for m in &c.materials {
            blocks.push(Block::Pair(m.name.clone(), m.files.join("、")));
        }
        blocks.push(Block::Qr {
            content: self.progress_link(&c.serial_number),
            caption: vec![
                format!("申办编号：{}", c.serial_number),
                format!("收件时间：{received}"),
                "扫码或在“办件查询”中输入申办编号和查询密码查看进度".into(),
            ],
        });
        blocks.push(Block::Text(
            "您的申请已由窗口收件，部门将按办事指南的时限办理，办理进度以短信告知。注册网上政务服务大厅账号（身份证号码相同）后，该办件也会出现在“我的办件”中。".into(),
        ));
        self.render(Printout {
            title: "受理回执".into(),
            blocks,
            footer: format!("申办编号 {}", c.serial_number),
            keywords: Vec::new(),
        })
        .await
    }
}
