"""Adding photos to a ticket after it was filed: with a comment, or the technician's before and after."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, MultipleFileField, RadioField, TextAreaField
from wtforms.validators import Length, Optional
from dispatch.blueprints.form_choices import options


class PhotoForm(FlaskForm):
    photos = MultipleFileField(_l("Photos"))
    stage = RadioField(_l("Kind of photo"), choices=options([("comment", _l("With a comment")), ("before", _l("Before the work")),
                                                      ("after", _l("After the work"))]), default="comment")
    note = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=1000)])
    back = HiddenField()  # ticket, photos or jobs: the page to go back to
