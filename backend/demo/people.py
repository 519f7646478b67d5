"""Plausible people and places of Lạng Sơn, generated from a seeded random source.

Names mix Kinh and Tày–Nùng family names common in the province; communes are the wards of the
former Lạng Sơn city after the 2025 reorganisation, with real codes from `vietnam-provinces`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from vietnam_provinces import Province, Ward

PROVINCE_CODE = 20  # Lạng Sơn; also the first digits (020) of ID numbers registered here
FAMILY_NAMES = [
    "Nguyễn", "Hoàng", "Nông", "Lương", "Vi", "Lộc", "Trần", "Lê", "Hà", "Lăng",
    "Chu", "Hứa", "Triệu", "Đinh", "Phạm", "Vũ", "Đặng", "Lý", "Mã", "Dương",
]  # fmt: skip
MIDDLE_MALE = ["Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Tiến", "Xuân"]
MIDDLE_FEMALE = ["Thị", "Thu", "Ngọc", "Thanh", "Hồng", "Kim", "Phương", "Thị"]
GIVEN_MALE = [
    "An", "Bình", "Cường", "Dũng", "Hùng", "Khánh", "Long", "Mạnh", "Nam", "Phúc",
    "Quân", "Sơn", "Thắng", "Tuấn", "Việt", "Hải", "Đạt", "Lâm", "Trung", "Hiếu",
]  # fmt: skip
GIVEN_FEMALE = [
    "Anh", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai",
    "Nga", "Nhung", "Oanh", "Phượng", "Quỳnh", "Thảo", "Trang", "Uyên", "Yến", "Huyền",
]  # fmt: skip


@dataclass(frozen=True)
class Area:
    """A ward of the city with its streets and a centre to scatter addresses around."""

    ward_code: int
    latitude: float
    longitude: float
    streets: tuple[str, ...]
    residential_groups: int


# Centres approximate each ward's built-up area; streets are real streets of Lạng Sơn city.
AREAS = (
    Area(5977, 21.8452, 106.7612, ("Lê Lợi", "Trần Đăng Ninh", "Bà Triệu", "Tông Đản", "Lê Đại Hành"), 12),
    Area(5983, 21.8528, 106.7548, ("Lương Văn Tri", "Trần Hưng Đạo", "Chu Văn An", "Nhị Thanh", "Bến Bắc"), 14),
    Area(5986, 21.8571, 106.7455, ("Tam Thanh", "Ngô Quyền", "Lý Thái Tổ", "Văn Vỉ", "Mỹ Sơn"), 10),
    Area(6187, 21.8627, 106.7622, ("Kỳ Lừa", "Hoàng Văn Thụ", "Bông Lau", "Phai Vệ", "Bắc Sơn"), 11),
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    """A recipient: name, phone, chip ID card details (for the demo only) and home."""

    full_name: str
    sex: str
    date_of_birth: date
    id_number: str
    id_issue_date: date
    phone: str
    address_line: str
    hamlet: str
    ward_code: int
    ward_name: str
    latitude: float
    longitude: float

    def recipient_fields(self) -> dict:
        """A dossier's fields for this person as applicant and recipient, at home."""
        return {
            "applicant_name": self.full_name,
            "recipient_name": self.full_name,
            "recipient_phone": self.phone,
            "address_line": self.address_line,
            "hamlet": self.hamlet,
            "commune_code": self.ward_code,
            "commune_name": self.ward_name,
            "province_code": PROVINCE_CODE,
            "province_name": province_name(),
            "latitude": self.latitude,
            "longitude": self.longitude,
        }


def province_name() -> str:
    return Province.from_code(PROVINCE_CODE).name


def ward_name(code: int) -> str:
    return Ward.from_code(code).name


def make_person(rng: random.Random) -> Person:
    """One plausible recipient living in one of the city's wards."""
    female = rng.random() < 0.5
    name = " ".join(
        (
            rng.choice(FAMILY_NAMES),
            rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE),
            rng.choice(GIVEN_FEMALE if female else GIVEN_MALE),
        )
    )
    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    # Century/sex digit: 0 male / 1 female for the 1900s, 2 / 3 for the 2000s.
    century_sex = (0 if born.year < 2000 else 2) + (1 if female else 0)
    id_number = f"{PROVINCE_CODE:03d}{century_sex}{born.year % 100:02d}{rng.randrange(10**6):06d}"
    area = rng.choice(AREAS)
    # Scatter homes up to about 1.2 km from the ward's centre (0.011° of latitude ≈ 1.2 km).
    lat = area.latitude + rng.uniform(-0.011, 0.011)
    lon = area.longitude + rng.uniform(-0.011, 0.011)
    lane = f"ngõ {rng.randint(1, 40)}, " if rng.random() < 0.3 else ""
    return Person(
        full_name=name,
        sex="Nữ" if female else "Nam",
        date_of_birth=born,
        id_number=id_number,
        id_issue_date=date(2021, 1, 1) + timedelta(days=rng.randrange(0, 365 * 4)),
        phone=rng.choice(["09", "03", "08"]) + f"{rng.randrange(10**8):08d}",
        address_line=f"Số {rng.randint(1, 250)}, {lane}đường {rng.choice(area.streets)}",
        hamlet=f"Tổ dân phố {rng.randint(1, area.residential_groups)}",
        ward_code=area.ward_code,
        ward_name=ward_name(area.ward_code),
        latitude=round(lat, 6),
        longitude=round(lon, 6),
    )


def cccd_qr_text(person: Person) -> str:
    """The text a chip ID card's QR would hold for this person (for demos and tests)."""
    return "|".join(
        (
            person.id_number,
            "",
            person.full_name,
            person.date_of_birth.strftime("%d%m%Y"),
            person.sex,
            f"{person.address_line}, {person.hamlet}, {person.ward_name}, {province_name()}",
            person.id_issue_date.strftime("%d%m%Y"),
        )
    )
