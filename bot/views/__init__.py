"""Pure renderers returning (text, keyboard) for a locale; callback codec, paging, i18n."""
