-- Publication integrity (complaints_warehouse/integrity.py, known_issues.py). Idempotent: run by every
-- command after bootstrap.sql.

-- What a validation run validated: a checksum of each month's BMMR figures, taken as the checkpoint
-- began (and checked again when it ended). Publication republishes nothing else: it recomputes the
-- month's checksum from the marts and refuses if they changed since.
create table if not exists audit.validated_figures (
    run_id        text not null,
    report_month  date not null,
    checksum      text not null,
    figures_count int not null,
    recorded_at   timestamptz not null default clock_timestamp(),
    primary key (run_id, report_month)
);
comment on table audit.validated_figures is
    'A checksum of each month''s BMMR figures as a validation run saw them: publication publishes a month only if its figures still have this checksum.';

-- Known issues: a validation failure signed off by a named person, for a reason, for the rows named,
-- until an expiry day. Append-only: a withdrawal is a new row (action 'withdraw') naming the issue.
create table if not exists audit.known_issues (
    entry_id       bigserial primary key,
    issue_id       bigint not null,
    action         text not null check (action in ('add', 'withdraw')),
    expectation    text not null,
    rows           jsonb not null default '[]'::jsonb,
    reason         text not null,
    signed_off_by  text not null,
    expires_on     date,
    recorded_by    text not null,
    recorded_at    timestamptz not null default clock_timestamp(),
    check (action = 'withdraw' or (expires_on is not null and jsonb_array_length(rows) > 0))
);
comment on table audit.known_issues is
    'Signed-off known issues (who, why, which expectation and rows, until when) that the publication gate honours; append-only, a withdrawal is a new row.';

-- The known issues a publication relied on (shown on the BMMR pack).
create table if not exists published.known_issues_honoured (
    report_month   date not null,
    version        int not null,
    issue_id       bigint not null,
    expectation    text not null,
    rows           jsonb not null,
    failing_rows   jsonb not null,
    reason         text not null,
    signed_off_by  text not null,
    expires_on     date not null,
    primary key (report_month, version, issue_id)
);
comment on table published.known_issues_honoured is
    'For each publication, the signed-off known issues whose failures it was published despite.';

-- The publication chain: each publication's hash covers its record (month, version, checksum of its
-- figures, count, validation run, publisher, time), its restatements and the known issues it was
-- published despite, and the hash of the publication chained before it,
-- so that an edited or removed publication breaks the chain where it was.
create table if not exists published.publication_chain (
    chain_seq         bigint primary key,
    report_month      date not null,
    version           int not null,
    previous_month    date,
    previous_version  int,
    previous_hash     text not null,
    chain_hash        text not null,
    upgraded          boolean not null default false,
    chained_at        timestamptz not null default clock_timestamp(),
    unique (report_month, version)
);
comment on table published.publication_chain is
    'A hash chain over every publication (see complaints-warehouse verify); upgraded: chained when the chain was introduced, after its publication.';

-- What a publication carries beside its figures: the known issues it was published despite and the
-- restatements it made. Both are shown on the BMMR pack, so both are covered by the chain.
create or replace function published.attachments_digest(month date, ver int)
returns text language sql stable parallel safe as $$
    select md5(
        coalesce((select string_agg(concat_ws('|', issue_id::text, expectation, rows::text, failing_rows::text,
            reason, signed_off_by, expires_on::text), e'\n' order by issue_id)
            from published.known_issues_honoured where report_month = month and version = ver), '')
        || '#' ||
        coalesce((select string_agg(concat_ws('|', from_version::text, directorate, procedure_code, period, measure,
            coalesce(trim_scale(old_value)::text, 'null'), coalesce(trim_scale(new_value)::text, 'null'), reason,
            source_batches::text), e'\n' order by directorate, procedure_code, period, measure)
            from published.bmmr_restatements where report_month = month and to_version = ver), '')
    )
$$;

drop function if exists published.publication_hash(text, date, int, text, int, text, text, timestamptz);
create or replace function published.publication_hash(
    previous_hash text, report_month date, version int, checksum text, figures_count int,
    validation_run_id text, published_by text, published_at timestamptz, attachments text
) returns text language sql stable parallel safe as $$
    select encode(sha256(convert_to(concat_ws('|', previous_hash, to_char(report_month, 'YYYY-MM'),
        version::text, checksum, figures_count::text, validation_run_id, published_by,
        to_char(published_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'), attachments), 'UTF8')), 'hex')
$$;

-- Append a publication to the chain (called by publish, in the publication's transaction).
create or replace function published.chain_publication(month date, ver int, was_upgraded boolean)
returns text language plpgsql as $$
declare
    head published.publication_chain;
    pub published.bmmr_publications;
    hash text;
begin
    select * into head from published.publication_chain order by chain_seq desc limit 1;
    select * into strict pub from published.bmmr_publications where report_month = month and version = ver;
    hash := published.publication_hash(coalesce(head.chain_hash, 'genesis'), pub.report_month, pub.version,
        pub.checksum, pub.figures_count, pub.validation_run_id, pub.published_by, pub.published_at,
        published.attachments_digest(month, ver));
    insert into published.publication_chain (chain_seq, report_month, version, previous_month,
        previous_version, previous_hash, chain_hash, upgraded)
    values (coalesce(head.chain_seq, 0) + 1, month, ver, head.report_month, head.version,
        coalesce(head.chain_hash, 'genesis'), hash, was_upgraded);
    return hash;
end
$$;

-- Upgrade: publications made before the chain existed are chained once, oldest first, when the chain
-- is introduced (an empty chain). After that every publication is chained as it is made.
do $$
declare
    pub record;
begin
    perform pg_advisory_xact_lock(hashtext('complaints_warehouse.publish'));
    if not exists (select 1 from published.publication_chain) then
        for pub in select report_month, version from published.bmmr_publications
                   order by published_at, report_month, version loop
            perform published.chain_publication(pub.report_month, pub.version, true);
        end loop;
    end if;
end
$$;

create or replace function audit.refuse_known_issue_change() returns trigger
language plpgsql as $$
begin
    raise exception 'known issues are append-only: % on %.% is not allowed (withdraw an issue with '
        '`complaints-warehouse known-issue withdraw`)', tg_op, tg_table_schema, tg_table_name;
end
$$;

do $$
declare
    frozen text;
begin
    foreach frozen in array array['publication_chain', 'known_issues_honoured'] loop
        if not exists (
            select 1 from pg_trigger
            where tgname = 'frozen' and tgrelid = format('published.%I', frozen)::regclass
        ) then
            execute format(
                'create trigger frozen before update or delete or truncate on published.%I '
                'for each statement execute function published.refuse_change()', frozen
            );
        end if;
    end loop;
    if not exists (
        select 1 from pg_trigger where tgname = 'append_only' and tgrelid = 'audit.known_issues'::regclass
    ) then
        create trigger append_only before update or delete or truncate on audit.known_issues
            for each statement execute function audit.refuse_known_issue_change();
    end if;
end
$$;

-- Every failing row a validation saw (up to the 200 GX samples), and how many there were: a known
-- issue covers a failure only when it names each of them.
alter table audit.validation_results add column if not exists unexpected_count bigint;
alter table audit.validation_results add column if not exists unexpected_rows jsonb;
