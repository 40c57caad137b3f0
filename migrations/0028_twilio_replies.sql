-- An SMS reply "1" acknowledges the latest page messaged to the person who
-- owns the replying number (db::twilio::open_page_for_number): find the
-- number's owners, then their latest messages, without scanning either table.
CREATE INDEX contact_methods_sms_number ON contact_methods (target) WHERE kind = 'sms' AND verified_at IS NOT NULL;
CREATE INDEX page_messages_person ON page_messages (user_id, created_at);
