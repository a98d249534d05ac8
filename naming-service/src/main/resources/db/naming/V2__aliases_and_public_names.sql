-- Aliases: human names for resource URIs. An alias keeps the URI (and the id it names), not a
-- place: where the id lives now is its binding's business, so an alias follows migrations.
create table aliases (
    name     text primary key,
    uri      text not null,
    target   text,
    owner    text not null,
    created  timestamptz not null default now(),
    updated  timestamptz not null default now()
);

-- Public interfaces: POST /pub/{name} is routed, without a token, to one channel's send endpoint.
create table public_names (
    name     text primary key,
    channel  text not null,
    owner    text not null,
    created  timestamptz not null default now(),
    updated  timestamptz not null default now()
);
