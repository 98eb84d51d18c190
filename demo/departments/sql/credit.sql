-- 公共信用信息中心: 双公示 (licensing and penalty decisions), 严重失信主体名单, 信用风险预警.
-- Owned by role gg_credit; served over REST. Every row is about an enterprise of the market register.
CREATE TABLE administrative_licence (        -- 行政许可 (双公示)
    decision_no text PRIMARY KEY,            -- 行政许可决定文书号, e.g. 厦市监许〔2024〕123号
    credit_code text NOT NULL,               -- GB 32100 code of the licensee
    title       text NOT NULL,               -- 许可决定文书名称
    category    text NOT NULL CHECK (category IN ('普通', '特许', '认可', '核准', '登记')),
    content     text NOT NULL,               -- 许可内容
    decided_on  date NOT NULL,               -- 许可决定日期
    valid_from  date NOT NULL,
    valid_until date,                        -- NULL: no end (长期)
    authority   text NOT NULL                -- 许可机关
);
CREATE INDEX administrative_licence_code_idx ON administrative_licence (credit_code);

CREATE TABLE administrative_penalty (        -- 行政处罚 (双公示)
    decision_no   text PRIMARY KEY,          -- 行政处罚决定书文号, e.g. 厦税罚〔2023〕45号
    credit_code   text NOT NULL,
    violation     text NOT NULL,             -- 违法行为类型
    penalty_type  text NOT NULL CHECK (penalty_type IN ('警告', '罚款', '没收违法所得', '责令停产停业', '暂扣许可证件')),
    amount        numeric(14, 2),            -- CNY; NULL when the penalty is not money (警告, 责令停产停业, 暂扣许可证件)
    basis         text NOT NULL,             -- 处罚依据: the law and article
    decided_on    date NOT NULL,
    authority     text NOT NULL,             -- 处罚机关
    publish_until date NOT NULL              -- 公示截止期: 3 months to 3 years after the decision
);
CREATE INDEX administrative_penalty_code_idx ON administrative_penalty (credit_code);

CREATE TABLE serious_dishonesty (            -- 严重失信主体名单
    credit_code text NOT NULL,
    list_name   text NOT NULL,               -- 重大税收违法失信主体 | 失信被执行人 | ...
    reason      text NOT NULL,
    listed_on   date NOT NULL,
    listed_by   text NOT NULL,               -- 认定部门
    removed_on  date,                        -- 移出日期; NULL while listed
    PRIMARY KEY (credit_code, list_name, listed_on)
);

CREATE TABLE credit_warning (                -- 信用风险预警, one per enterprise
    credit_code text PRIMARY KEY,
    level       text NOT NULL CHECK (level IN ('LOW', 'MEDIUM', 'HIGH', 'SEVERE')),
    score       int  NOT NULL CHECK (score BETWEEN 0 AND 1000),  -- higher is better
    assessed_on date NOT NULL,
    reasons     text NOT NULL                -- why the level is above LOW; '' for LOW
);
