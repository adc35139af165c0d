-- Every name an authority is published under, keyed the way names are matched (latest delivery wins).
-- The query is the macro latest_authority_names, which stg_ombudsman__annual_statistics also reads.
{{ latest_authority_names() }}
