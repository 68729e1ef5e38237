DROP TABLE cert_serials;
DROP TABLE certificate_events;
DROP TABLE certificates;
