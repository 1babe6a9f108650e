import { IsEmail, IsInt, IsOptional, Length, Min } from 'class-validator';

export class CreateMemberDto {
  @IsEmail()
  public email: string;

  @Length(2, 40)
  public displayName: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  public seats?: number;
}
