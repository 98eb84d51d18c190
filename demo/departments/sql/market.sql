-- 市场监管局 法人库: enterprise registrations and annual reports. Owned by role gg_market.
CREATE TABLE enterprise (
    credit_code        text PRIMARY KEY,     -- GB 32100, 913502... for Xiamen enterprises
    name               text NOT NULL,
    kind               text NOT NULL,        -- 有限责任公司 | 股份有限公司 | 个人独资企业 | 个体工商户
    status             text NOT NULL,        -- 存续 | 注销 | 吊销
    legal_rep_id       text NOT NULL,        -- resident id of the legal representative
    registered_capital numeric(16, 2) NOT NULL,  -- in 万元 (10,000 CNY)
    established_on     date NOT NULL,
    district           text NOT NULL,
    address            text NOT NULL,
    business_scope     text NOT NULL,
    deregistered_on    date                  -- set when status is 注销 or 吊销
);
CREATE INDEX enterprise_legal_rep_idx ON enterprise (legal_rep_id);

CREATE TABLE annual_report (                 -- 企业年度报告
    credit_code  text NOT NULL REFERENCES enterprise (credit_code),
    year         int  NOT NULL,
    submitted_on date,                       -- NULL when not submitted
    employees    int,
    status       text NOT NULL,              -- 已公示 | 未公示
    PRIMARY KEY (credit_code, year)
);
