import pytest

from backend.domain import errors

KINDS = {"invalid", "conflict", "forbidden", "not_found"}
EXPECTED = {
    errors.TransitionNotAllowed: ("transition_not_allowed", "conflict"),
    errors.AttemptsExhausted: ("attempts_exhausted", "conflict"),
    errors.InvalidEnvelopeCode: ("invalid_envelope_code", "invalid"),
    errors.MalformedEnvelopeQr: ("malformed_qr", "invalid"),
    errors.ForgedEnvelopeQr: ("forged_qr", "invalid"),
    errors.InvalidIdQr: ("invalid_id_qr", "invalid"),
    errors.InvalidIdNumber: ("invalid_id_number", "invalid"),
    errors.RecipientNotAllowed: ("recipient_not_allowed", "invalid"),
}


@pytest.mark.parametrize(("cls", "code_kind"), EXPECTED.items())
def test_each_error_has_its_stable_code_and_kind(cls, code_kind):
    assert issubclass(cls, errors.DomainError)
    assert (cls.code, cls.kind) == code_kind
    assert cls.kind in KINDS


def test_error_codes_are_unique():
    codes = [cls.code for cls in EXPECTED]
    assert len(codes) == len(set(codes))


def test_domain_error_keeps_message_and_fields():
    err = errors.InvalidIdNumber("bad number", fields={"id_number": "x"})
    assert err.message == "bad number"
    assert err.fields == {"id_number": "x"}
    assert str(err) == "bad number"
    assert errors.DomainError("m").fields is None


def test_transition_not_allowed_names_state_and_action():
    err = errors.TransitionNotAllowed("delivered", "load")
    assert (err.state, err.action) == ("delivered", "load")
    assert "delivered" in err.message and "load" in err.message
