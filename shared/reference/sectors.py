"""The IASC humanitarian clusters, which drx uses as sectors."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SECTOR_NAMES", "Sector"]


class Sector(StrEnum):
    HEALTH = "health"
    SHELTER = "shelter"
    WASH = "wash"
    FOOD_SECURITY = "food_security"
    EDUCATION = "education"
    PROTECTION = "protection"
    LOGISTICS = "logistics"
    NUTRITION = "nutrition"
    CAMP_MANAGEMENT = "camp_management"
    EARLY_RECOVERY = "early_recovery"
    EMERGENCY_TELECOMMUNICATIONS = "emergency_telecommunications"


SECTOR_NAMES: dict[Sector, str] = {
    Sector.HEALTH: "Health",
    Sector.SHELTER: "Shelter",
    Sector.WASH: "Water, Sanitation and Hygiene",
    Sector.FOOD_SECURITY: "Food Security",
    Sector.EDUCATION: "Education",
    Sector.PROTECTION: "Protection",
    Sector.LOGISTICS: "Logistics",
    Sector.NUTRITION: "Nutrition",
    Sector.CAMP_MANAGEMENT: "Camp Coordination and Camp Management",
    Sector.EARLY_RECOVERY: "Early Recovery",
    Sector.EMERGENCY_TELECOMMUNICATIONS: "Emergency Telecommunications",
}
