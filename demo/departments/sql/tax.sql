-- 税务局: taxpayers, credit ratings, payments, arrears, individual income tax. Owned by role gg_tax.
CREATE TABLE taxpayer (
    credit_code   text PRIMARY KEY,          -- GB 32100
    taxpayer_no   text NOT NULL UNIQUE,      -- equals the credit code for enterprises registered after 2015
    name          text NOT NULL,
    kind          text NOT NULL,             -- 一般纳税人 | 小规模纳税人
    tax_authority text NOT NULL,             -- 国家税务总局厦门市XX区税务局
    registered_on date NOT NULL,
    status        text NOT NULL              -- 正常 | 非正常 | 注销
);

CREATE TABLE credit_rating (                 -- 纳税信用等级, published each April for the previous year
    credit_code  text NOT NULL,
    year         int  NOT NULL,
    grade        text NOT NULL CHECK (grade IN ('A', 'B', 'M', 'C', 'D')),
    score        int,                        -- NULL for grades assigned directly (D for evasion, M for new)
    published_on date NOT NULL,
    PRIMARY KEY (credit_code, year)
);

CREATE TABLE tax_payment (
    credit_code text NOT NULL,
    period      text NOT NULL,               -- YYYYMM of the tax period
    tax_type    text NOT NULL,               -- 增值税 | 企业所得税 | 个人所得税(代扣代缴)
    amount      numeric(14, 2) NOT NULL,
    paid_on     date NOT NULL,
    PRIMARY KEY (credit_code, period, tax_type)
);

CREATE TABLE arrears (                       -- 欠税
    credit_code text NOT NULL,
    tax_type    text NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    since       text NOT NULL,               -- YYYYMM
    PRIMARY KEY (credit_code, tax_type)
);

CREATE TABLE income_tax_summary (            -- 个人所得税年度汇总
    person_id         text NOT NULL,
    year              int  NOT NULL,
    income            numeric(14, 2) NOT NULL,
    tax_paid          numeric(14, 2) NOT NULL,
    withholding_agent text,                  -- credit code of the main withholding employer
    PRIMARY KEY (person_id, year)
);
