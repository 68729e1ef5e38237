//! The integration suite: the whole app over HTTP, each test on SQLite and on PostgreSQL.

mod helpers;

mod accounts;
mod audit;
mod bank;
mod browser;
mod cards;
mod certs;
mod cli;
mod exams;
mod hardening;
mod imports;
mod officers;
mod reviews;
mod system;
mod units;
mod verify;
