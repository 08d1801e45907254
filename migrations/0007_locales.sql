-- Locales. A member's own choice (/language) overrides the platform's language tag, and each
-- answer keeps the locale it was given in, so open-text themes are found per language.
-- Never edit once applied; add a new numbered file instead.
ALTER TABLE members ADD COLUMN locale_override TEXT;
ALTER TABLE answers ADD COLUMN locale TEXT;
