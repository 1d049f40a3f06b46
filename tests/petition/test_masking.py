"""The masking rules of DOMAIN.md §6 on their own (engine/privacy.py and the petition's identity keys),
without a store."""
from engine.privacy import mask_id_number, mask_phone, masked, person_key, personal_fields, phone_key, without_identity
from usecases.views import Privacy
from workflows.petition import PetitionApplication

PETITION = PetitionApplication(None)

DATA = {"petitioners": [{"name": "王五", "id_number": "11010519491231002X", "phone": "13800138000",
                         "address": "柳村"}],
        "residence_org": "dz-lc", "respondent_unit": "dz", "summary": "承包面积", "materials": [{"title": "合同"}],
        "mediation": {"respondents": [{"name": "李四", "phone": "0571-88886666"}]}}


def test_id_numbers_keep_their_first_6_and_last_4_characters_and_phones_their_first_3_and_last_4():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("110105491231002") == "110105*****1002"  # an old 15-digit number
    assert mask_id_number("12345") == "*****"
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("0571-88886666") == "057******6666"
    assert mask_phone("110") == "***"


def test_masking_reaches_every_id_number_and_phone_and_leaves_the_rest():
    shown = masked(DATA)
    assert shown["petitioners"][0] == {"name": "王五", "id_number": "110105********002X", "phone": "138****8000",
                                       "address": "柳村"}
    assert shown["mediation"]["respondents"][0]["phone"] == "057******6666"
    assert shown["summary"] == "承包面积" and DATA["petitioners"][0]["phone"] == "13800138000"  # a copy
    assert personal_fields(DATA) == ["petitioners[0].id_number", "petitioners[0].phone",
                                     "mediation.respondents[0].phone"]


def test_the_unit_complained_about_gets_the_matter_without_the_person():
    hidden = Privacy(PETITION, withheld=True, unmasked=True)(DATA)

    assert set(hidden) == {"respondent_unit", "summary", "mediation", "confidential"}
    assert "phone" not in hidden["mediation"]["respondents"][0]
    assert Privacy(PETITION, withheld=False, unmasked=False)(DATA) == masked(DATA)
    assert Privacy(PETITION, withheld=False, unmasked=True)(DATA) == DATA
    keys, note = PETITION.identity_keys, PETITION.confidential_note
    assert without_identity({"kind": "x"}, keys, note) == {"kind": "x"}
    # Nor which other petitions the same person made.
    assert without_identity({"earlier_petitions": [{"case_id": 1}], "summary": "x"}, keys, note)["summary"] == "x"
    assert "earlier_petitions" not in without_identity({"earlier_petitions": [{"case_id": 1}]}, keys, note)


def test_a_person_key_is_the_same_for_the_same_id_number_however_written():
    assert person_key("11010519491231002x ") == person_key("11010519491231002X")
    assert person_key("11010519491231002X") != person_key("320582198001011231")
    assert "1101051949" not in person_key("11010519491231002X")


def test_a_phone_key_is_the_same_for_the_same_number_however_written():
    assert phone_key("138 0013 8000") == phone_key("13800138000") == phone_key("+86 138-0013-8000")
    assert phone_key("13800138000") != phone_key("13800138001")
